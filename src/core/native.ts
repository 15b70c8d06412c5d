// Our N-API addon, native/megalog.c, which `npm ci` (node-gyp) builds into build/Release/megalog.node:
// the system calls Node lacks, sd_notify's AF_UNIX datagram (daemon/notify.ts) and flock(2) (lock.ts),
// and the UDP syslog reader (sources/udp.ts: a thread with recvmmsg(2) writing spool records).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export interface NativeAddon {
  /** One datagram to the socket (a path, or `@name` in the abstract namespace): 0, or the errno. */
  send(socketPath: string, message: string): number;
  /** flock(fd, LOCK_EX | LOCK_NB): 0, or the errno (EWOULDBLOCK when another open file holds it). */
  lock(fd: number): number;
  /** Name the calling thread (at most 15 bytes; /proc/self/task/<tid>/comm): 0, or the errno. */
  threadName(name: string): number;
  /** A bound UDP socket (host: an IPv4 or IPv6 address; port 0: any); throws an Error with `code` (EADDRINUSE…). */
  udpOpen(host: string, port: number, rcvbufBytes: number): { handle: UdpHandle; port: number; granted: number };
  /**
   * Start the socket's reading thread: `onChunk` gets the datagrams as spool records (spool/format.ts,
   * transport `transportCode`), one call per recvmmsg batch, then `null` once after udpStop.
   */
  udpStart(handle: UdpHandle, transportCode: number, onChunk: (chunk: UdpChunk | null, ...rest: UdpChunkRest) => void): void;
  /** Stop reading: what the socket holds is still delivered, then the `null` call. */
  udpStop(handle: UdpHandle): void;
}

/** The addon's socket (opaque). */
export type UdpHandle = { readonly __udp: unique symbol };
/** Spool records, one per non-empty datagram. */
export type UdpChunk = Buffer;
/** records, empties, truncated, payload bytes, distinct senders, datagrams per sender. */
export type UdpChunkRest = [records: number, empties: number, truncated: number, payloadBytes: number, origins: string[], counts: number[]];

/** The package root: the first folder above this file with a package.json (src/ under vitest, dist/src/ compiled, /usr/lib/megalog packaged). */
function packageRoot(): string {
  for (let dir = import.meta.dirname; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${import.meta.dirname}`);
  }
}

let addon: NativeAddon | null = null;

/** The addon, loaded on first use; `why` names the caller in the error when it is not built. */
export function nativeAddon(why: string): NativeAddon {
  if (addon) return addon;
  const file = join(packageRoot(), 'build', 'Release', 'megalog.node');
  try {
    addon = createRequire(import.meta.url)(file) as NativeAddon;
  } catch (err) {
    throw new Error(`${why} needs the addon ${file}, which cannot be loaded (build it with npm ci): ${(err as Error).message}`);
  }
  return addon;
}
