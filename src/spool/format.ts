// Spool on-disk format: the durable hand-off between sources and the committer.
//
// A spool is a directory of append-only segment files named after the global byte position of their
// first record (`00000000000000000000.seg`, …), so a position is one integer across segments.
//
//   segment := record*
//   record  := u32le body_len | u32le crc32(body) | body
//   body    := f64le recv_ms | u8 transport | u8 origin_len | origin[origin_len] | payload
//
// `origin` is the sender address for network transports and `ino:offset` for the tailed file (the
// file offset just after this line, so a restart resumes exactly where the spool ends).
// The position of a record is the global position of its END: a store that has committed position P
// has committed every record whose end is ≤ P. Recovery cuts a torn tail; a corrupted record inside a
// segment is skipped by scanning forward to the next record whose length and checksum hold.
import { crc32 } from 'node:zlib';
import { TRANSPORTS, type Transport } from '../core/counters.js';

export const HEADER_BYTES = 8;
export const BODY_FIXED_BYTES = 10;
/** Largest body accepted when scanning: anything longer is corruption, not a record. */
export const MAX_BODY_BYTES = 16 * 1024 * 1024 + 512;

export { TRANSPORTS, type Transport };
/** A transport's code in a record: its index in TRANSPORTS. */
export const TRANSPORT_CODE = Object.fromEntries(TRANSPORTS.map((t, i) => [t, i])) as Record<Transport, number>;

export interface SpoolRecord {
  /** Global position of the record's end. */
  end: number;
  recvMs: number;
  transport: Transport;
  origin: string;
  payload: Buffer;
}

export function segmentName(start: number): string {
  return `${String(start).padStart(20, '0')}.seg`;
}

export function parseSegmentName(name: string): number | null {
  const m = /^(\d{20})\.seg$/.exec(name);
  return m ? Number(m[1]) : null;
}

/** Bytes one record takes in the spool. */
export function recordSize(originLen: number, payloadLen: number): number {
  return HEADER_BYTES + BODY_FIXED_BYTES + originLen + payloadLen;
}

/**
 * Encode one record into `buf` at `at` (the caller guarantees room); returns the new offset.
 * `origin` must be ASCII of at most 255 bytes.
 */
export function encodeRecord(buf: Buffer, at: number, recvMs: number, transport: Transport, origin: string, payload: Buffer): number {
  const originLen = origin.length;
  const bodyStart = at + HEADER_BYTES;
  buf.writeDoubleLE(recvMs, bodyStart);
  buf[bodyStart + 8] = TRANSPORT_CODE[transport];
  buf[bodyStart + 9] = originLen;
  buf.write(origin, bodyStart + BODY_FIXED_BYTES, originLen, 'latin1');
  payload.copy(buf, bodyStart + BODY_FIXED_BYTES + originLen);
  const bodyLen = BODY_FIXED_BYTES + originLen + payload.length;
  buf.writeUInt32LE(bodyLen, at);
  buf.writeUInt32LE(crc32(buf.subarray(bodyStart, bodyStart + bodyLen)), at + 4);
  return bodyStart + bodyLen;
}

export type ScanStep =
  | { kind: 'record'; next: number; record: Omit<SpoolRecord, 'end'> }
  | { kind: 'incomplete' } // the bytes end inside a record
  | { kind: 'corrupt' }; // no valid record starts here

/** Decode the record at `at`, checking length and checksum. `payload` aliases `buf`. */
export function decodeAt(buf: Buffer, at: number, limit: number): ScanStep {
  if (limit - at < HEADER_BYTES) return { kind: 'incomplete' };
  const bodyLen = buf.readUInt32LE(at);
  if (bodyLen < BODY_FIXED_BYTES || bodyLen > MAX_BODY_BYTES) return { kind: 'corrupt' };
  const bodyStart = at + HEADER_BYTES;
  if (limit - bodyStart < bodyLen) return { kind: 'incomplete' };
  const body = buf.subarray(bodyStart, bodyStart + bodyLen);
  if (crc32(body) !== buf.readUInt32LE(at + 4)) return { kind: 'corrupt' };
  const transport = TRANSPORTS[body[8]!];
  const originLen = body[9]!;
  if (!transport || BODY_FIXED_BYTES + originLen > bodyLen) return { kind: 'corrupt' };
  return {
    kind: 'record',
    next: bodyStart + bodyLen,
    record: {
      recvMs: body.readDoubleLE(0),
      transport,
      origin: body.toString('latin1', BODY_FIXED_BYTES, BODY_FIXED_BYTES + originLen),
      payload: body.subarray(BODY_FIXED_BYTES + originLen),
    },
  };
}

/**
 * Each record of `buf`, records the writer has just encoded and written (so no checksum is checked):
 * `start` is the spool position of buf[0]; `end` is the record's position. `payload` aliases `buf`.
 */
export function forEachRecord(buf: Buffer, start: number, fn: (end: number, recvMs: number, transport: Transport, origin: string, payload: Buffer) => void): void {
  let at = 0;
  while (at + HEADER_BYTES <= buf.length) {
    const bodyStart = at + HEADER_BYTES;
    const next = bodyStart + buf.readUInt32LE(at);
    const originLen = buf[bodyStart + 9]!;
    const payloadStart = bodyStart + BODY_FIXED_BYTES + originLen;
    fn(start + next, buf.readDoubleLE(bodyStart), TRANSPORTS[buf[bodyStart + 8]!]!, buf.toString('latin1', bodyStart + BODY_FIXED_BYTES, payloadStart), buf.subarray(payloadStart, next));
    at = next;
  }
}
