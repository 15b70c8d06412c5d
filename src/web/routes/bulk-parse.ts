// A court order's list, as analysts paste or upload it: one request per line, in any of the shapes
// these lists come in —
//   203.0.113.7 40312 2026-03-05 10:11:12 -03:00        ip, port, time (space separated)
//   203.0.113.7:40312 05/03/2026 10:11:12 GMT-3         ip:port, time ([v6]:port for IPv6)
//   203.0.113.7,40312,2026-03-05T10:11:12-03:00[,tcp]   CSV (also ; or tab), a header line skipped
//   203.0.113.7 2026-03-05 10:11:12                     no port: every candidate of the address
//   203.0.113.7:40312 2026-03-05 10:11:12 -> 198.51.100.80:443   with the destination the requester saw
//   203.0.113.7,40312,2026-03-05T10:11:12-03:00,tcp,198.51.100.80,443   (CSV: columns 5 and 6)
// Blank lines and lines starting with # are skipped. Bounded: MAX_BULK_LINES requests, and uploads
// of at most MAX_UPLOAD_BYTES read by readUpload (multipart/form-data, parsed here with that cap).
import { isIPv4, isIPv6 } from 'node:net';
import { WebError } from '../errors.js';
import type { Ctx } from '../state.js';

export const MAX_BULK_LINES = 10_000;
export const MAX_UPLOAD_BYTES = 4 * 1024 * 1024;
const MAX_LINE_CHARS = 300;

export interface BulkRequest {
  line: number;
  input: string;
  ip: string;
  port: string;
  time: string;
  proto: string;
  /** Destination the requester gives ('' for none): narrows the answer (query/dest.ts). */
  dstIp?: string;
  dstPort?: string;
}

export type BulkParsed = { ok: true; requests: (BulkRequest | { line: number; input: string; error: { pt: string; en: string } })[] } | { ok: false; pt: string; en: string };

const V4_PORT = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/;
const V6_PORT = /^\[([0-9a-fA-F:.]+)\]:(\d{1,5})$/;

function splitAddress(tok: string): { ip: string; port: string } {
  const a = V4_PORT.exec(tok) ?? V6_PORT.exec(tok);
  if (a) return { ip: a[1]!, port: a[2]! };
  return { ip: tok.replace(/^\[(.*)\]$/, '$1'), port: '' };
}

const looksLikeIp = (s: string) => isIPv4(splitAddress(s).ip) || isIPv6(splitAddress(s).ip);

const BAD_LINE = {
  pt: 'Linha não reconhecida (esperado: ip[:porta] data/hora [-> destino[:porta]], ip porta data/hora ou CSV ip,porta,data/hora[,proto,destino,porta])',
  en: 'Line not understood (expected: ip[:port] time [-> destination[:port]], ip port time, or CSV ip,port,time[,proto,destination,port])',
};

/** One line → its fields (not yet validated: the lookup checks IP, port and time and names the problem). */
function parseLine(line0: string, line: number): BulkRequest | null {
  // `… -> destination[:port]` at the end, in any shape
  let text = line0;
  let dst: { ip: string; port: string } | null = null;
  const arrow = text.lastIndexOf('->');
  if (arrow > 0) {
    dst = splitAddress(text.slice(arrow + 2).trim());
    if (!dst.ip) return null;
    text = text.slice(0, arrow).trim();
  }
  const cells = text.split(/[,;\t]/).map((c) => c.trim().replace(/^"(.*)"$/, '$1').trim());
  if (cells.length >= 2) {
    const addr = splitAddress(cells[0]!);
    if (addr.port) return { line, input: line0, ip: addr.ip, port: addr.port, time: cells[1] ?? '', proto: cells[2] ?? '', dstIp: dst?.ip ?? cells[3] ?? '', dstPort: dst?.port ?? cells[4] ?? '' };
    return { line, input: line0, ip: addr.ip, port: cells[1] ?? '', time: cells[2] ?? '', proto: cells[3] ?? '', dstIp: dst?.ip ?? cells[4] ?? '', dstPort: dst?.port ?? cells[5] ?? '' };
  }
  const toks = text.split(/\s+/);
  if (toks.length < 2) return null;
  const addr = splitAddress(toks[0]!);
  let rest = toks.slice(1);
  let port = addr.port;
  if (!port && /^\d{1,5}$/.test(rest[0]!) && rest.length > 1) {
    port = rest[0]!;
    rest = rest.slice(1);
  }
  return { line, input: line0, ip: addr.ip, port, time: rest.join(' '), proto: '', dstIp: dst?.ip ?? '', dstPort: dst?.port ?? '' };
}

/**
 * A list's requests as typed (the non-blank, non-comment lines after any header line, numbered), or
 * the refusal of the whole list (not UTF-8, not text, too many lines, empty). Cheap: the console
 * runs it before starting a bulk search, and the search itself reads the lines (parseBulk).
 */
export type BulkChecked = { ok: true; text: string; lines: { line: number; text: string }[] } | { ok: false; pt: string; en: string };

export function checkBulk(data: Buffer | string): BulkChecked {
  let text: string;
  if (typeof data === 'string') text = data;
  else {
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(data);
    } catch {
      return { ok: false, pt: 'O arquivo não está em UTF-8 (salve-o como UTF-8 ou texto simples e envie de novo).', en: 'The file is not UTF-8 (save it as UTF-8 or plain text and upload it again).' };
    }
    if (data.includes(0)) return { ok: false, pt: 'O arquivo não é texto (contém bytes nulos): envie uma lista em texto ou CSV.', en: 'The file is not text (it contains NUL bytes): upload a text or CSV list.' };
  }
  text = text.replace(/^\uFEFF/, '');
  const lines = text.split(/\r\n|\r|\n/);
  const out: { line: number; text: string }[] = [];
  for (let i = 0; i < lines.length; i++) {
    const s = lines[i]!.trim();
    if (!s || s.startsWith('#')) continue;
    // A header line ("ip,porta,data") before the first request is skipped.
    if (out.length === 0 && !looksLikeIp(s.split(/[\s,;]/)[0]!.replace(/^"(.*)"$/, '$1')) && /[a-z]/i.test(s) && !/\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}/.test(s)) continue;
    if (out.length === MAX_BULK_LINES) {
      const total = lines.filter((l) => l.trim() && !l.trim().startsWith('#')).length;
      return {
        ok: false,
        pt: `Lista grande demais: ${total.toLocaleString('pt-BR')} linhas; o limite é ${MAX_BULK_LINES.toLocaleString('pt-BR')} por pedido. Divida a lista e envie em partes.`,
        en: `List too long: ${total.toLocaleString('en-US')} lines; the limit is ${MAX_BULK_LINES.toLocaleString('en-US')} per request. Split the list and send it in parts.`,
      };
    }
    out.push({ line: i + 1, text: s });
  }
  if (out.length === 0) return { ok: false, pt: 'A lista está vazia: cole ou envie ao menos uma linha ip / porta / data-hora.', en: 'The list is empty: paste or upload at least one ip / port / time line.' };
  return { ok: true, text, lines: out };
}

/** A request line as shown and audited (a line too long to be a request, clipped). */
export function inputOf(s: string): string {
  return s.length > MAX_LINE_CHARS ? `${s.slice(0, 80)}…` : s;
}

/** Decode and split a list; a refusal for the whole list (checkBulk) or one entry per line. */
export function parseBulk(data: Buffer | string): BulkParsed {
  const c = checkBulk(data);
  if (!c.ok) return c;
  return {
    ok: true,
    requests: c.lines.map(({ line, text: s }) => {
      if (s.length > MAX_LINE_CHARS) return { line, input: inputOf(s), error: { pt: 'Linha longa demais', en: 'Line too long' } };
      return parseLine(s, line) ?? { line, input: s, error: BAD_LINE };
    }),
  };
}

/** A multipart/form-data body (at most MAX_UPLOAD_BYTES): text fields and the first file. */
export async function readUpload(ctx: Ctx): Promise<{ fields: Record<string, string>; file: Buffer | null; tooLarge: boolean }> {
  const type = ctx.get('Content-Type');
  const m = /^multipart\/form-data;.*boundary=(?:"([^"]{1,70})"|([^\s;]{1,70}))/i.exec(type);
  if (!m) throw new WebError('MEGALOG_ERR_WEB_UNSUPPORTED_MEDIA');
  const boundary = Buffer.from(`--${m[1] ?? m[2]}`);
  const declared = Number(ctx.get('Content-Length') || 0);
  const limit = MAX_UPLOAD_BYTES + 64 * 1024; // room for the other fields and the part headers
  if (declared > limit) {
    ctx.req.resume(); // drain, answer with a message
    return { fields: {}, file: null, tooLarge: true };
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > limit) tooLarge = true;
    else chunks.push(chunk as Buffer);
  }
  if (tooLarge) return { fields: {}, file: null, tooLarge };
  const body = Buffer.concat(chunks);
  const fields: Record<string, string> = Object.create(null);
  let file: Buffer | null = null;
  let pos = body.indexOf(boundary);
  while (pos >= 0) {
    const start = pos + boundary.length;
    if (body.subarray(start, start + 2).toString() === '--') break;
    const headEnd = body.indexOf('\r\n\r\n', start);
    if (headEnd < 0) break;
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), boundary]), headEnd + 4);
    if (next < 0) break;
    const head = body.subarray(start, headEnd).toString('latin1');
    const content = body.subarray(headEnd + 4, next);
    const name = /name="([^"]*)"/i.exec(head)?.[1] ?? '';
    if (/filename="/i.test(head)) {
      if (file === null && name === 'file') file = content;
    } else if (name && !(name in fields)) {
      fields[name] = content.toString('utf8').replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '');
    }
    pos = next + 2;
  }
  if (file && file.length > MAX_UPLOAD_BYTES) tooLarge = true;
  return { fields, file, tooLarge };
}
