// Parser chain registry. (Stub: the vendor parsers of issue 3 replace this file.)
import type { ParseContext, ParseResult } from './types.js';
export type { NatRecord, ParseContext, ParseResult, EventKind } from './types.js';

export function parseMessage(_line: string, _ctx: ParseContext): ParseResult {
  return { kind: 'unparsed', time: null };
}
