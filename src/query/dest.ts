// Destination-aware answers. With endpoint-dependent mapping (EDM) a CGNAT gives the same public
// ip:port to several subscribers at once, one per destination, so "who held ip:port at T" can have
// several right answers; a requester that knows the destination (content providers' reports carry
// it) singles one out. The filter is applied to records before the interval rules see them, so
// another subscriber's session to another destination neither ends nor hides the one asked about.
// A record whose line gives no destination (port blocks, formats without one) is kept: what was not
// logged cannot rule a subscriber out, and its candidate shows no destination.
import { ipToDb } from '../store/codes.js';
import type { NatRow } from '../store/store.js';
import { parseIp, parsePort } from './input.js';

/** A destination filter as given (canonical address text, port); either may be null. */
export interface Destination {
  dst_ip: string | null;
  dst_port: number | null;
}

/** Validate an analyst's destination (throws QueryError naming the field); null when neither is given. */
export function parseDestination(ip: unknown, port: unknown): Destination | null {
  const dstIp = ip == null || (typeof ip === 'string' && ip.trim() === '') ? null : parseIp(ip, 'dst_ip');
  const dstPort = parsePort(port ?? null, 'dst_port');
  return dstIp == null && dstPort == null ? null : { dst_ip: dstIp, dst_port: dstPort };
}

/** The row filter of a destination: a row is kept unless its line names another destination. */
export function destinationFilter(d: Destination): (row: NatRow) => boolean {
  const ip = d.dst_ip == null ? null : ipToDb(d.dst_ip);
  const port = d.dst_port;
  const ipHex = ip != null && typeof ip !== 'number' ? Buffer.from(ip).toString('hex') : null;
  return (row) => {
    if (port != null && row.dst_port != null && row.dst_port !== port) return false;
    if (ip == null || row.dst_ip == null) return true;
    if (typeof ip === 'number') return row.dst_ip === ip;
    return typeof row.dst_ip !== 'number' && Buffer.from(row.dst_ip).toString('hex') === ipHex;
  };
}
