// `megalog search --nat-ip IP [--nat-port N] --at TIME [--window SECONDS] [--proto P] [--dst-ip IP] [--dst-port N] --case REF [--json]`
// and `megalog search --login LOGIN --from TIME --to TIME --case REF [--json]` (docs/architecture.md, "Contracts"). The search is audited like a console search before its answer is shown:
// an answer that cannot be recorded is not given.
import { userInfo } from 'node:os';
import type { Config } from '../config/load.js';
import { QueryError } from '../query/errors.js';
import { forensicLookup, loginLookup, parseAnalystTime, type Answer, type Candidate, type LoginAnswer } from '../query/engine.js';

export const SEARCH_USAGE = `usage: megalog search --nat-ip IP [--nat-port N] --at TIME [--window SECONDS] [--proto P] [--dst-ip IP] [--dst-port N] --case REF [--justification TEXT] [--json]
       megalog search --login LOGIN --from TIME --to TIME [--proto P] --case REF [--justification TEXT] [--json]

  --nat-ip IP        public address (IPv4 or IPv6)
  --nat-port N       public port 0-65535; without it, every inside address that used IP in the window, with counts
  --at TIME          ISO 8601 (2026-03-05T10:11:12-03:00); without an offset it is read in the configured time zone
  --window SECONDS   ± seconds around TIME (default 60)
  --proto P          tcp, udp, icmp… (default: any)
  --dst-ip IP        destination the requester gives: records to another destination are left out (endpoint-
  --dst-port N       dependent mapping gives one public ip:port to several subscribers at once, one per destination)
  --login LOGIN      what the subscriber login (as the NAT lines name it: PPPoE, firewall user) held from --from to --to (31 days at most)
  --case REF         case reference (required: every search is audited with it)
  --json             {"verdict": …, "candidates": [{src_ip, src_port, nat_ip, nat_port_start, nat_port_end, proto, start, end, device, raw,
                     dst_ip, dst_port, subscriber, subscriber_step}]} (with a destination also "destination": {dst_ip, dst_port, inside_without};
                     when a deterministic NAT rule set maps the address, "rules": {basis, check, set, inside});
                     --login: {"login", "inside": [...], "mappings": [same candidates]}

Exit status: 0 answered (any verdict), 64 bad input, 1 the search could not be read or audited.`;

type Out = { out: (s: string) => void; err: (s: string) => void };
const STD: Out = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) };

/** Records one search; the default writes to users.db through src/users (tests may swap it). */
export type AuditFn = (cfg: Config, entry: { user: string; source: string; action: string; case_ref: string; justification: string | null; query: unknown; result_count: number }) => Promise<void>;

export const auditToUsersDb: AuditFn = async (cfg, entry) => {
  const { openUsersDb } = await import('../users/users-db.js');
  const db = openUsersDb(cfg.users_db_path, { auditEnabled: cfg.enable_audit_log });
  try {
    db.audit(entry);
  } finally {
    db.close();
  }
};

export async function runSearch(cfg: Config, flags: Map<string, string | true>, io: Out = STD, audit: AuditFn = auditToUsersDb): Promise<number> {
  if (flags.has('help')) {
    io.out(`${SEARCH_USAGE}\n`);
    return 0;
  }
  const json = flags.has('json');
  const pt = cfg.language === 'pt-BR';
  const str = (k: string): string | null => {
    const v = flags.get(k);
    return typeof v === 'string' ? v : null;
  };
  const fail = (e: QueryError, status: number): number => {
    if (json) io.out(`${JSON.stringify({ error: e.toJSON() })}\n`);
    io.err(`megalog search: ${e.code}: ${pt ? e.message_pt : e.message_en}\n`);
    return status;
  };
  if (str('login') != null) return runLoginSearch(cfg, str, io, audit, json, pt, fail);
  for (const k of ['nat-ip', 'at', 'case']) {
    if (!str(k)?.trim()) {
      const e = new QueryError('MEGALOG_ERR_QUERY_MISSING', `--${k}`, k);
      io.err(`${SEARCH_USAGE}\n\n`);
      return fail(e, 64);
    }
  }
  let answer: Answer;
  try {
    const at = parseAnalystTime(str('at')!, cfg.timezone);
    answer = forensicLookup({ natIp: str('nat-ip')!, natPort: str('nat-port'), at, windowSec: str('window'), proto: str('proto'), dstIp: str('dst-ip'), dstPort: str('dst-port') }, cfg);
  } catch (err) {
    if (err instanceof QueryError) return fail(err, 64);
    return fail(new QueryError('MEGALOG_ERR_QUERY_STORE', (err as Error).message), 1);
  }
  const query = { nat_ip: answer.query.nat_ip, nat_port: answer.query.nat_port, at: answer.query.at, window_sec: answer.query.window_sec, proto: answer.query.proto, ...(answer.narrowed ? { dst_ip: answer.query.dst_ip, dst_port: answer.query.dst_port } : {}), verdict: answer.verdict };
  if (!(await audited(cfg, audit, io, pt, 'search', str, query, answer.candidates.length))) return 1;
  io.out(json ? `${JSON.stringify(contractJson(answer))}\n` : humanTable(answer, pt));
  return 0;
}

/** Audit the search before its answer is shown; false (and said on stderr) when it could not be audited. */
async function audited(cfg: Config, audit: AuditFn, io: Out, pt: boolean, action: 'search' | 'search_login', str: (k: string) => string | null, query: Record<string, unknown>, results: number): Promise<boolean> {
  try {
    await audit(cfg, { user: cliUser(), source: 'local', action, case_ref: str('case')!.trim(), justification: str('justification'), query, result_count: results });
    return true;
  } catch (err) {
    io.err(`megalog search: ${pt ? 'a busca não pôde ser registrada na auditoria; nenhuma resposta foi dada' : 'the search could not be audited; no answer given'} (${(err as Error).message})\n`);
    return false;
  }
}

/** A candidate in the contract's JSON shape. */
function candidateJson(c: Candidate): Record<string, unknown> {
  return {
    src_ip: c.src_ip,
    src_port: c.src_port,
    nat_ip: c.nat_ip,
    nat_port_start: c.nat_port_start,
    nat_port_end: c.nat_port_end,
    proto: c.proto,
    start: c.start,
    end: c.end,
    device: c.device,
    raw: c.raw,
    dst_ip: c.dst_ip,
    dst_port: c.dst_port,
    subscriber: c.subscriber,
    subscriber_step: c.subscriber_step ?? null,
  };
}

/** Exactly the contract's JSON shape (and, with a destination, how it narrowed the answer). */
export function contractJson(a: Answer): { verdict: Answer['verdict']; candidates: Record<string, unknown>[]; destination?: unknown; rules?: unknown } {
  return {
    verdict: a.verdict,
    candidates: a.candidates.map(candidateJson),
    ...(a.narrowed ? { destination: { dst_ip: a.narrowed.dst_ip, dst_port: a.narrowed.dst_port, inside_without: a.narrowed.inside_without } } : {}),
    ...(a.rules ? { rules: a.rules } : {}),
  };
}

/** `megalog search --login`: what a login held over a range, audited like any search. */
async function runLoginSearch(cfg: Config, str: (k: string) => string | null, io: Out, audit: AuditFn, json: boolean, pt: boolean, fail: (e: QueryError, status: number) => number): Promise<number> {
  for (const k of ['from', 'to', 'case']) {
    if (!str(k)?.trim()) {
      io.err(`${SEARCH_USAGE}\n\n`);
      return fail(new QueryError('MEGALOG_ERR_QUERY_MISSING', `--${k}`, k), 64);
    }
  }
  let a: LoginAnswer;
  try {
    a = loginLookup({ login: str('login')!, from: parseAnalystTime(str('from')!, cfg.timezone), to: parseAnalystTime(str('to')!, cfg.timezone), proto: str('proto') }, cfg);
  } catch (err) {
    if (err instanceof QueryError) return fail(err, 64);
    return fail(new QueryError('MEGALOG_ERR_QUERY_STORE', (err as Error).message), 1);
  }
  if (!(await audited(cfg, audit, io, pt, 'search_login', str, { login: a.query.login, from: a.query.from, to: a.query.to, proto: a.query.proto }, a.mappings.length))) return 1;
  if (json) {
    io.out(`${JSON.stringify({ login: a.query.login, inside: a.inside, mappings: a.mappings.map(candidateJson), truncated: a.truncated })}\n`);
    return 0;
  }
  const lines = [`login: ${JSON.stringify(a.query.login)} ${a.query.from} → ${a.query.to}`, `${pt ? 'endereços internos' : 'inside addresses'}: ${a.inside.join(', ') || '-'}`, ''];
  for (const c of a.mappings) lines.push(`${c.start}  ${c.end}  ${c.src_ip ?? '-'}${c.src_port == null ? '' : `:${c.src_port}`}  ${c.nat_ip}:${c.nat_port_start ?? '-'}${c.proto ? `/${c.proto}` : ''}  ${c.dst_ip ?? '-'}${c.dst_port == null ? '' : `:${c.dst_port}`}  ${c.device}`);
  if (!a.mappings.length) lines.push(pt ? 'nenhum mapeamento' : 'no mapping');
  io.out(`${lines.join('\n')}\n`);
  return 0;
}

const VERDICT_TEXT = {
  unique: ['único: um só endereço interno usou', 'unique: one inside address held it'],
  ambiguous: ['ambíguo: vários endereços internos usaram (todos listados)', 'ambiguous: several inside addresses held it (all listed)'],
  no_match: ['sem correspondência: o equipamento enviava logs e nenhum corresponde', 'no match: the device was sending logs and none matched'],
  no_data: ['sem dados: nenhum log do equipamento cobre esse momento (a ausência nada prova)', 'no data: no log from the device covers that time (absence proves nothing)'],
} as const;

function humanTable(a: Answer, pt: boolean): string {
  const q = a.query;
  const lines = [
    `${pt ? 'consulta' : 'query'}: ${q.nat_ip}${q.nat_port == null ? '' : `:${q.nat_port}`}${q.proto ? `/${q.proto}` : ''} ${q.at} ±${q.window_sec}s`,
    `${pt ? 'veredito' : 'verdict'}: ${a.verdict} — ${VERDICT_TEXT[a.verdict][pt ? 0 : 1]}`,
  ];
  if (a.narrowed) {
    const d = `${a.narrowed.dst_ip ?? '*'}:${a.narrowed.dst_port ?? '*'}`;
    lines.push(pt ? `restrita pelo destino ${d}: ${a.narrowed.inside_without} endereço(s) interno(s) sem ele` : `narrowed by destination ${d}: ${a.narrowed.inside_without} inside address(es) without it`);
  }
  const r = a.rules;
  if (r?.basis === 'rules') lines.push(pt ? `resposta pelas regras de NAT determinístico (nenhum log cobre esse momento): conjunto ${r.set.id} ${r.set.file_name} sha256 ${r.set.sha256}, em vigor de ${r.set.valid_from} a ${r.set.valid_to ?? 'hoje'}` : `answered from the deterministic NAT rules (no log covers that time): set ${r.set.id} ${r.set.file_name} sha256 ${r.set.sha256}, in force from ${r.set.valid_from} to ${r.set.valid_to ?? 'now'}`);
  else if (r?.check) lines.push(pt ? `regras de NAT determinístico (conjunto ${r.set.id}): ${r.check === 'agrees' ? 'concordam com os logs' : `indicam ${r.inside.join(', ')}, diferente dos logs`}` : `deterministic NAT rules (set ${r.set.id}): ${r.check === 'agrees' ? 'agree with the logs' : `name ${r.inside.join(', ')}, unlike the logs`}`);
  if (a.candidates.length) {
    const head = ['src_ip', 'src_port', 'login', 'nat', 'proto', 'dst', 'start', 'end', 'end_reason', 'count', 'device'];
    const rows = a.candidates.map((c) => [
      c.src_ip ?? '-',
      c.src_port == null ? '-' : String(c.src_port),
      // attacker-controlled text: escaped as JSON when it holds anything but plain printable characters
      c.subscriber?.login == null ? '-' : /^[\x21-\x7e]+$/.test(c.subscriber.login) ? c.subscriber.login : JSON.stringify(c.subscriber.login),
      `${c.nat_ip}:${c.nat_port_start == null ? '-' : c.nat_port_start === c.nat_port_end ? c.nat_port_start : `${c.nat_port_start}-${c.nat_port_end}`}`,
      c.proto ?? '-',
      c.dst_ip == null && c.dst_port == null ? '-' : `${c.dst_ip ?? '*'}:${c.dst_port ?? '*'}`,
      c.start_exact ? c.start : `≤${c.start}`,
      c.end,
      c.end_reason,
      String(c.count),
      c.device,
    ]);
    const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const fmt = (r: string[]) => r.map((x, i) => x.padEnd(w[i]!)).join('  ').trimEnd();
    lines.push('', fmt(head), ...rows.map(fmt), '');
    // Original lines are attacker-controlled: show them with control characters escaped.
    for (const c of a.candidates) lines.push(`raw ${c.day} ${c.src_ip ?? '-'}: ${JSON.stringify(c.raw)}`);
    // The chain's last step: who held each inside address at T (RADIUS accounting).
    for (const c of a.candidates) {
      const st = c.subscriber_step;
      if (!st) continue;
      const sub = c.subscriber;
      const who = sub ? ` login=${JSON.stringify(sub.login)} mac=${sub.mac ?? '-'} nas=${JSON.stringify(sub.nas)} session=${sub.session_start ?? '?'}→${sub.session_end ?? (pt ? 'aberta' : 'open')}` : '';
      lines.push(`${pt ? 'assinante' : 'subscriber'} ${c.src_ip ?? '-'}: ${st.verdict} (${st.reason}, ${pt ? 'procurado desde' : 'searched from'} ${st.searched_from})${who}`);
    }
  } else if (a.owners) {
    lines.push(`${pt ? 'equipamentos donos do endereço' : 'owner devices'}: ${a.owners.join(', ') || '-'} (${a.reason})`);
  }
  lines.push(`${pt ? 'arquivos lidos' : 'day files read'}: ${a.days_used.map((d) => d.day).join(', ') || '-'}${a.days_missing.length ? `; ${pt ? 'ausentes' : 'missing'}: ${a.days_missing.join(', ')}` : ''}`);
  return `${lines.join('\n')}\n`;
}

/** `cli:<os user>`, as `megalog user` writes it: the command line has no login, the OS account is who asked. */
function cliUser(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return `cli:uid ${process.getuid?.() ?? '?'}`;
  }
}
