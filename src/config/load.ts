// Load the configuration once: defaults ← YAML file ← MEGALOG_* environment. Every error is reported
// together, naming the key and what it allows; the result is frozen. The environment is read here only.
import { readFileSync, existsSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { parse as parseYaml } from 'yaml';
import { StartError } from '../core/errors.js';
import { isZone } from '../core/time.js';
import { SCHEMA, type Config, type ConfigKey, type DeviceConfig, type KeySpec } from './schema.js';

export type { Config, DeviceConfig } from './schema.js';
export { SCHEMA } from './schema.js';

/** Thrown when the configuration cannot be used; `problems` names every bad key. */
export class ConfigError extends StartError {
  constructor(readonly problems: string[], source: string | null) {
    super('MEGALOG_ERR_CONFIG', `invalid configuration${source ? ` in ${source}` : ''}:\n  - ${problems.join('\n  - ')}`);
  }
}

/** Environment variables that are not schema keys but are still ours. */
const ENV_EXTRA = new Set(['MEGALOG_CONFIG', 'MEGALOG_SECRET_KEY', 'MEGALOG_AUDIT_KEY', 'MEGALOG_FAULT', 'MEGALOG_RADIUS_CLIENTS', 'MEGALOG_CLICKHOUSE_PASSWORD']);
export const PACKAGED_CONFIG = '/etc/megalog/megalog.yaml';

export interface LoadOptions {
  /** Explicit --config path; wins over MEGALOG_CONFIG. */
  file?: string | null;
  env?: NodeJS.ProcessEnv;
  /** Extra overrides (tests, CLI flags), applied last. */
  overrides?: Partial<Record<ConfigKey, unknown>>;
}

export function loadConfig(opts: LoadOptions = {}): Config {
  const env = opts.env ?? process.env;
  const file = opts.file ?? env.MEGALOG_CONFIG ?? (existsSync(PACKAGED_CONFIG) ? PACKAGED_CONFIG : null);
  const problems: string[] = [];
  const raw: Record<string, unknown> = {};

  if (file) {
    let doc: unknown;
    try {
      doc = parseYaml(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new ConfigError([`cannot read ${file}: ${(err as Error).message}`], file);
    }
    if (doc != null && (typeof doc !== 'object' || Array.isArray(doc))) {
      throw new ConfigError(['the file must hold a mapping of key: value'], file);
    }
    for (const [k, v] of Object.entries((doc ?? {}) as Record<string, unknown>)) {
      if (!(k in SCHEMA)) problems.push(`${k}: unknown key${didYouMean(k)}`);
      else raw[k] = v;
    }
  }
  for (const [name, v] of Object.entries(env)) {
    if (!name.startsWith('MEGALOG_') || ENV_EXTRA.has(name) || v === undefined) continue;
    const k = name.slice('MEGALOG_'.length).toLowerCase();
    if (!(k in SCHEMA)) problems.push(`${name}: unknown environment key${didYouMean(k, 'MEGALOG_')}`);
    else raw[k] = v;
  }
  Object.assign(raw, opts.overrides ?? {});

  const out: Record<string, unknown> = { source: file };
  for (const [key, spec] of Object.entries(SCHEMA) as [ConfigKey, KeySpec][]) {
    const value = key in raw ? raw[key] : spec.default;
    const r = coerce(key, spec, value);
    if (typeof r === 'string') {
      problems.push(r);
      out[key] = (coerce(key, spec, spec.default) as { value: unknown }).value; // so the cross checks still run
    } else out[key] = r.value;
  }
  const cfg = out as unknown as Config;
  // Every problem in one pass: a bad time zone is reported together with a bad batch size.
  problems.push(...crossCheck(cfg, env));
  if (problems.length) throw new ConfigError(problems, file);
  return deepFreeze(cfg);
}

/** ` (did you mean "x"?)` for the known key closest to a mistyped one, or a pointer to the list. */
function didYouMean(key: string, prefix = ''): string {
  let best = '';
  let bestD = Infinity;
  for (const k of Object.keys(SCHEMA)) {
    const d = editDistance(key, k);
    if (d < bestD) [best, bestD] = [k, d];
  }
  return bestD <= Math.max(2, Math.floor(key.length / 4))
    ? ` (did you mean "${prefix}${prefix ? best.toUpperCase() : best}"?)`
    : ' (docs/configuration.md lists every key)';
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}

function coerce(key: string, spec: KeySpec, value: unknown): { value: unknown } | string {
  const k = spec.kind;
  switch (k.type) {
    case 'string': {
      if (typeof value === 'number') value = String(value);
      if (typeof value !== 'string') return `${key}: must be a string`;
      if (!k.allowEmpty && value.trim() === '') return `${key}: must not be empty`;
      return { value };
    }
    case 'int': {
      const n = typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < k.min || n > k.max) {
        return `${key}: must be a whole number from ${k.min} to ${k.max} (got ${JSON.stringify(value)})`;
      }
      return { value: n };
    }
    case 'bool': {
      if (typeof value === 'boolean') return { value };
      if (typeof value === 'string' && /^(true|false|yes|no|1|0|on|off)$/i.test(value.trim())) {
        return { value: /^(true|yes|1|on)$/i.test(value.trim()) };
      }
      return `${key}: must be true or false (got ${JSON.stringify(value)})`;
    }
    case 'enum': {
      const s = typeof value === 'string' ? value.trim() : value;
      const hit = k.values.find((v) => typeof s === 'string' && v.toLowerCase() === s.toLowerCase());
      if (!hit) return `${key}: must be one of ${k.values.join(', ')} (got ${JSON.stringify(value)})`;
      return { value: hit };
    }
    case 'listen': {
      const parts = Array.isArray(value) ? value.map(String) : typeof value === 'string' ? value.split(',') : null;
      if (!parts) return `${key}: must be a comma-separated list of host:port`;
      const list = parts.map((p) => p.trim()).filter(Boolean);
      for (const p of list) {
        const hp = splitHostPort(p);
        if (!hp) return `${key}: "${p}" is not host:port (IPv6 as [::1]:514; port 0-65535)`;
      }
      return { value: list };
    }
    case 'address': {
      const p = typeof value === 'string' ? value.trim() : '';
      if (!splitHostPort(p)) return `${key}: "${String(value)}" is not host:port (IPv6 as [::1]:5000; port 0-65535)`;
      return { value: p };
    }
    case 'strings': {
      if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return { value: value.filter((v) => v !== '') };
      if (typeof value === 'string') return { value: value.split(',').map((s) => s.trim()).filter(Boolean) };
      return `${key}: must be a list of strings`;
    }
    case 'devices': {
      if (typeof value === 'string') {
        try {
          value = JSON.parse(value || '{}');
        } catch {
          return `${key}: must be a mapping (JSON in the environment)`;
        }
      }
      if (value == null || typeof value !== 'object' || Array.isArray(value)) return `${key}: must be a mapping of address → {name, vendor, timezone}`;
      const out: Record<string, DeviceConfig> = {};
      for (const [addr, d] of Object.entries(value as Record<string, unknown>)) {
        if (!isIP(addr)) return `${key}: "${addr}" is not an IP address`;
        const o = (d ?? {}) as Record<string, unknown>;
        for (const f of Object.keys(o)) {
          if (!['name', 'vendor', 'timezone'].includes(f)) return `${key}.${addr}: unknown field ${f} (allowed: name, vendor, timezone)`;
        }
        if (o.timezone != null && !isZone(String(o.timezone))) return `${key}.${addr}.timezone: unknown time zone ${JSON.stringify(o.timezone)}`;
        out[addr] = {
          name: o.name == null ? addr : String(o.name),
          vendor: o.vendor == null ? null : String(o.vendor),
          timezone: o.timezone == null ? null : String(o.timezone),
        };
      }
      return { value: out };
    }
  }
}

function crossCheck(cfg: Config, env: NodeJS.ProcessEnv): string[] {
  const p: string[] = [];
  if (!isZone(cfg.timezone)) p.push(`timezone: unknown IANA time zone "${cfg.timezone}" (e.g. America/Sao_Paulo, UTC)`);
  if (cfg.syslog_tls_listen.length && (!cfg.tls_cert_file || !cfg.tls_key_file)) {
    p.push('syslog_tls_listen: needs tls_cert_file and tls_key_file');
  }
  const nokia = ['proto', 'src_ip', 'src_port', 'nat_ip', 'nat_port', 'dst_ip', 'dst_port', 'skip'];
  const badNokia = cfg.nokia_flow_fields.filter((f) => !nokia.includes(f));
  if (badNokia.length) p.push(`nokia_flow_fields: unknown field(s) ${badNokia.join(', ')} (allowed: ${nokia.join(', ')})`);
  if (cfg.batch_max_lines < cfg.batch_size) p.push(`batch_max_lines: must be at least batch_size (${cfg.batch_size})`);
  if (cfg.radius_acct_listen.length && !cfg.radius_clients_file && env.MEGALOG_RADIUS_CLIENTS == null) p.push('radius_acct_listen: needs NAS clients, in radius_clients_file or MEGALOG_RADIUS_CLIENTS');
  p.push(...clickhouseCheck(cfg));
  return p;
}

/** The ClickHouse keys: a URL without credentials, identifiers that can be written into SQL as they are. */
function clickhouseCheck(cfg: Config): string[] {
  const p: string[] = [];
  const ident = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
  if (!ident.test(cfg.clickhouse_database)) p.push(`clickhouse_database: must be a plain identifier (letters, digits, _)`);
  if (cfg.clickhouse_cluster && !ident.test(cfg.clickhouse_cluster)) p.push(`clickhouse_cluster: must be a plain identifier (letters, digits, _)`);
  if (cfg.storage !== 'clickhouse' && !cfg.clickhouse_url) return p;
  if (!cfg.clickhouse_url) return [...p, 'clickhouse_url: needed with storage: clickhouse (e.g. http://127.0.0.1:8123)'];
  let u: URL | null = null;
  try {
    u = new URL(cfg.clickhouse_url);
  } catch {
    /* reported below */
  }
  if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:')) p.push('clickhouse_url: must be an http:// or https:// URL');
  else if (u.username || u.password) p.push('clickhouse_url: must not hold credentials (use clickhouse_user and MEGALOG_CLICKHOUSE_PASSWORD or clickhouse_password_file)');
  else if ((u.pathname !== '/' && u.pathname !== '') || u.search || u.hash) p.push('clickhouse_url: only scheme, host and port (no path or query)');
  return p;
}

/** "127.0.0.1:514", "[::1]:514", ":514" → {host, port}; null when malformed. */
export function splitHostPort(s: string): { host: string; port: number } | null {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]*)):(\d{1,5})$/.exec(s.trim());
  if (!m) return null;
  const port = Number(m[3]);
  if (port > 65535) return null; // 0 = any free port (tests)
  const host = m[1] ?? (m[2] || '0.0.0.0');
  if (m[1] && isIP(m[1]) !== 6) return null;
  return { host, port };
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o as object)) deepFreeze(v);
  }
  return o;
}

/** Test-only fault injection plan from MEGALOG_FAULT ("point:N"), or null. */
export function faultSpec(env: NodeJS.ProcessEnv = process.env): { point: string; n: number } | null {
  const m = /^([a-z_]+):(\d+)$/.exec(env.MEGALOG_FAULT ?? '');
  return m ? { point: m[1]!, n: Number(m[2]) } : null;
}

/** One NAS allowed to send RADIUS accounting: its address or prefix, shared secret and a name for logs. */
export interface RadiusClient {
  address: string;
  prefix: number;
  secret: Buffer;
  name: string;
}

/**
 * The RADIUS listener's NAS clients: the lines of MEGALOG_RADIUS_CLIENTS (newline- or ';'-separated),
 * else of `radius_clients_file`, which must not be readable by group or others. A line is
 * `address[/prefix] secret [name]`; `#` starts a comment. Secrets are never put in a message.
 */
export function radiusClients(cfg: Pick<Config, 'radius_clients_file'>, env: NodeJS.ProcessEnv = process.env): RadiusClient[] {
  let text = env.MEGALOG_RADIUS_CLIENTS;
  const where = text != null ? 'MEGALOG_RADIUS_CLIENTS' : cfg.radius_clients_file;
  if (text == null) {
    if (!cfg.radius_clients_file) throw new ConfigError(['radius_acct_listen: needs NAS clients, in radius_clients_file or MEGALOG_RADIUS_CLIENTS'], null);
    let mode: number;
    try {
      mode = statSync(cfg.radius_clients_file).mode;
      text = readFileSync(cfg.radius_clients_file, 'utf8');
    } catch (err) {
      throw new ConfigError([`radius_clients_file: cannot read ${cfg.radius_clients_file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`], null);
    }
    if (mode & 0o077) throw new ConfigError([`radius_clients_file: ${cfg.radius_clients_file} holds secrets and is readable by group or others (chmod 600, owned by the service user)`], null);
  }
  const out: RadiusClient[] = [];
  const problems: string[] = [];
  text.split(/[\n;]/).forEach((line, i) => {
    const f = line.replace(/#.*/, '').trim().split(/\s+/).filter(Boolean);
    if (!f.length) return;
    const [addr, bits] = f[0]!.split('/');
    const family = isIP(addr ?? '');
    const prefix = bits == null ? (family === 6 ? 128 : 32) : Number(bits);
    // Never echo the line: it holds a secret.
    if (!family || !Number.isInteger(prefix) || prefix < 0 || prefix > (family === 6 ? 128 : 32)) problems.push(`${where}: line ${i + 1}: not an address or prefix`);
    else if (f.length < 2) problems.push(`${where}: line ${i + 1}: no secret`);
    else out.push({ address: addr!, prefix, secret: Buffer.from(f[1]!, 'utf8'), name: f[2] ?? addr! });
  });
  if (!problems.length && !out.length) problems.push(`${where}: no NAS client`);
  if (problems.length) throw new ConfigError(problems, null);
  return out;
}
