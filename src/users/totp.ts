// TOTP second factor: RFC 6238 (SHA-1, 6 digits, 30 s steps) over RFC 4226 HOTP, with node:crypto only.
// A code is accepted one step either side of now, and never twice: the last accepted step is stored.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const STEP_SEC = 30;
const DIGITS = 6;
const SKEW_STEPS = 1;
const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32, no padding (what authenticator apps expect in otpauth URIs). */
export function base32Encode(buf: Uint8Array): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of buf) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += B32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += B32[(value << (5 - bits)) & 31];
  return out;
}

export function base32Decode(s: string): Buffer {
  const clean = s.toUpperCase().replace(/[\s=-]/g, '');
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const ch of clean) {
    const i = B32.indexOf(ch);
    if (i < 0) throw new Error('not base32');
    value = (value << 5) | i;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 255);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** RFC 4226 §5.3: HMAC-SHA-1 over the 8-byte counter, dynamic truncation, modulo 10^digits. */
export function hotp(key: Uint8Array, counter: number, digits = DIGITS): string {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac('sha1', key).update(msg).digest();
  const offset = mac[mac.length - 1]! & 0x0f;
  const bin = ((mac[offset]! & 0x7f) << 24) | (mac[offset + 1]! << 16) | (mac[offset + 2]! << 8) | mac[offset + 3]!;
  return String(bin % 10 ** digits).padStart(digits, '0');
}

export function totpStep(nowMs: number): number {
  return Math.floor(nowMs / 1000 / STEP_SEC);
}

export function totpCode(secretB32: string, nowMs: number): string {
  return hotp(base32Decode(secretB32), totpStep(nowMs));
}

/**
 * Check `code` against the steps around `nowMs`. Returns the matching step (store it as the new
 * `lastStep`), or null when the code is wrong, malformed, or from a step already used.
 */
export function verifyTotp(secretB32: string, code: string, nowMs: number, lastStep: number): number | null {
  const c = code.replace(/\s/g, '');
  if (!/^\d{6}$/.test(c)) return null;
  let key: Buffer;
  try {
    key = base32Decode(secretB32);
  } catch {
    return null; // a stored secret that cannot be opened (users.ts): no code matches
  }
  const now = totpStep(nowMs);
  let hit: number | null = null;
  for (let s = now - SKEW_STEPS; s <= now + SKEW_STEPS; s++) {
    // Compare every candidate (no early exit) so timing does not tell which step matched.
    if (timingSafeEqual(Buffer.from(hotp(key, s)), Buffer.from(c)) && s > lastStep && hit === null) hit = s;
  }
  return hit;
}

export function newTotpSecret(): string {
  return base32Encode(randomBytes(20));
}

/** Key URI format understood by authenticator apps (Google Authenticator's "Key Uri Format"). */
export function otpauthUri(secretB32: string, account: string, issuer = 'MegaLog'): string {
  const label = `${encodeURIComponent(issuer)}:${encodeURIComponent(account)}`;
  return `otpauth://totp/${label}?secret=${secretB32}&issuer=${encodeURIComponent(issuer)}&algorithm=SHA1&digits=${DIGITS}&period=${STEP_SEC}`;
}
