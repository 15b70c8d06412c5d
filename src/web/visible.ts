// Original lines shown as the bytes the device sent. Control characters and invisible format
// characters become visible escapes: a U+202E (right-to-left override) or U+2066 (isolate) in a line
// would otherwise reorder what follows it on screen and in the printed report, and a zero-width or
// tag character would hide text. Templates render the escapes in a styled span (templates/_raw.njk),
// still autoescaped: no markup is ever built here.

/** A run of text as sent, or one escaped character (`escape`: shown styled, as its code). */
export interface Segment {
  text: string;
  escape: boolean;
}

// Cc (controls, but TAB and LF which <pre> shows as such), Cf (format: Bidi controls U+061C,
// U+200E/F, U+202A–E, U+2066–9; zero-width U+200B–D, U+2060, U+FEFF; soft hyphen; tags U+E0000…),
// Zl/Zp (line and paragraph separators).
const INVISIBLE = /(?![\t\n])[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu;

function escapeOf(ch: string): string {
  const cp = ch.codePointAt(0)!;
  if (cp <= 0x9f) return `\\x${cp.toString(16).padStart(2, '0')}`;
  const hex = cp.toString(16).toUpperCase();
  return cp > 0xffff ? `\\u{${hex}}` : `\\u${hex.padStart(4, '0')}`;
}

/** `s` cut into plain runs and escaped invisible characters, in order. */
export function visibleSegments(s: string): Segment[] {
  const out: Segment[] = [];
  let last = 0;
  for (const m of s.matchAll(INVISIBLE)) {
    if (m.index > last) out.push({ text: s.slice(last, m.index), escape: false });
    out.push({ text: escapeOf(m[0]), escape: true });
    last = m.index + m[0].length;
  }
  if (last < s.length || out.length === 0) out.push({ text: s.slice(last), escape: false });
  return out;
}
