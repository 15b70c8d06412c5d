// `megalog parse`: raw messages on stdin, one JSON value per input line on stdout (docs/architecture.md, "Contracts").
// An object for one record, an array for several, null for a line without a NAT record. Operators use it to check
// a new router's format before pointing it at the appliance, so it must keep line-for-line alignment.
import { createInterface } from 'node:readline';
import type { Config } from '../config/load.js';
import { configureParsers, parseMessage } from '../parse/chain.js';
import type { NatRecord, ParseContext } from '../parse/types.js';

/** The JSON shape of one record in `megalog parse` output: absent values are null, time is ISO 8601 UTC. */
export interface RecordJson {
  vendor: string;
  event: string;
  proto: string | null;
  src_ip: string | null;
  src_port: number | null;
  nat_ip: string | null;
  nat_port?: number | null;
  nat_port_start?: number | null;
  nat_port_end?: number | null;
  dst_ip: string | null;
  dst_port: number | null;
  time: string | null;
  host: string | null;
  /** The subscriber the line names (PPP login, VLAN, firewall user), or null. */
  login: string | null;
}

/** Record → contract JSON object (`nat_port`, or `nat_port_start`/`nat_port_end` for a port block). */
export function recordToJson(r: NatRecord): RecordJson {
  const block = r.nat_port_start !== null || r.nat_port_end !== null;
  const time = r.time === null || !Number.isFinite(r.time) ? null : new Date(r.time).toISOString();
  if (block) {
    return {
      vendor: r.vendor, event: r.event, proto: r.proto, src_ip: r.src_ip, src_port: r.src_port, nat_ip: r.nat_ip,
      nat_port_start: r.nat_port_start, nat_port_end: r.nat_port_end, dst_ip: r.dst_ip, dst_port: r.dst_port, time, host: r.host, login: r.login ?? null,
    };
  }
  return {
    vendor: r.vendor, event: r.event, proto: r.proto, src_ip: r.src_ip, src_port: r.src_port, nat_ip: r.nat_ip,
    nat_port: r.nat_port, dst_ip: r.dst_ip, dst_port: r.dst_port, time, host: r.host, login: r.login ?? null,
  };
}

/** Why a line gave `null`, for `megalog parse --explain` (on stderr: stdout keeps its contract). */
export function explainNull(line: string, ctx: ParseContext): string | null {
  const r = parseMessage(line, ctx);
  if (r.kind === 'ignored') return `ignored by ${r.vendor}: ${r.reason}`;
  if (r.kind === 'unparsed') return 'unparsed: no parser recognised it (it is kept as an unparsed line)';
  return null;
}

/** The output value for one input line. */
export function parseLineToJson(line: string, ctx: ParseContext): RecordJson | RecordJson[] | null {
  const r = parseMessage(line, ctx);
  if (r.kind !== 'records') return null;
  if (r.records.length === 1) return recordToJson(r.records[0]);
  return r.records.map(recordToJson);
}

/**
 * Read lines from `input` until it ends, write one JSON value per line to `output`. Honors backpressure (waits for
 * `drain`); a closed reader (EPIPE, e.g. `megalog parse | head`) ends the run quietly.
 */
export async function runParse(
  input: NodeJS.ReadableStream,
  output: NodeJS.WritableStream,
  ctx: Omit<ParseContext, 'receivedAt'> & { now?: () => number; explain?: (msg: string) => void },
): Promise<void> {
  const now = ctx.now ?? Date.now;
  const base: ParseContext = { receivedAt: 0, peer: ctx.peer ?? null, device: ctx.device ?? null, timezone: ctx.timezone };
  let closed = false;
  let failure: Error | null = null;
  let wake: (() => void) | null = null;
  const onError = (err: NodeJS.ErrnoException): void => {
    closed = true;
    if (err && err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_DESTROYED') failure = err;
    wake?.();
  };
  const onDrain = (): void => wake?.();
  const onClose = (): void => {
    closed = true;
    wake?.();
  };
  output.on('error', onError);
  output.on('drain', onDrain);
  output.on('close', onClose);
  const rl = createInterface({ input, crlfDelay: Infinity, terminal: false });
  let lineNo = 0;
  try {
    for await (const line of rl) {
      if (closed) break;
      base.receivedAt = now();
      let value: unknown;
      try {
        value = parseLineToJson(line, base);
      } catch {
        value = null; // parseMessage never throws; this guards the JSON step all the same
      }
      lineNo++;
      if (value === null && ctx.explain) {
        const why = explainNull(line, base);
        if (why) ctx.explain(`line ${lineNo}: ${why}`);
      }
      const ok = output.write(`${JSON.stringify(value)}\n`);
      if (!ok && !closed) {
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = null;
      }
      if (closed) break;
    }
  } finally {
    rl.close();
    output.off('drain', onDrain);
    output.off('close', onClose);
    // keep a no-op error listener: a late EPIPE after we return must not crash the process
    output.off('error', onError);
    output.on('error', () => {});
  }
  if (failure) throw failure;
}

/** `megalog parse`: the configured parser chain (vendor pins, time zones) over stdin. */
export async function runParseCommand(cfg: Config, explain = false): Promise<number> {
  configureParsers(cfg);
  const why = explain ? (msg: string) => process.stderr.write(`${msg}\n`) : undefined;
  await runParse(process.stdin, process.stdout, { peer: null, device: null, timezone: cfg.timezone, explain: why });
  return 0;
}
