// Password hashes (src/users/password.ts): scrypt from Node's own OpenSSL, salted, in a
// self-describing string; a right password passes, a wrong one and a tampered or foreign hash fail.
import { describe, expect, it } from 'vitest';
import { checkPassword, hashPassword } from '../../src/users/password.js';

describe('password hashes', () => {
  it('checks a password against its salted scrypt hash, and nothing else', async () => {
    const a = await hashPassword('frase longa do administrador');
    const b = await hashPassword('frase longa do administrador');
    expect(a).toMatch(/^\$scrypt\$ln=15,r=8,p=3\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(a).not.toBe(b); // salted
    expect(await checkPassword(a, 'frase longa do administrador')).toBe('ok');
    expect(await checkPassword(a, 'frase longa do administradoR')).toBe('wrong');
    expect(await checkPassword(null, 'frase longa do administrador')).toBe('refused');
    expect(await checkPassword(a, 'frase longa do administrador', undefined, () => false)).toBe('refused');
    // a row edited to a cheap cost, or a hash of another scheme, never authenticates
    expect(await checkPassword(a.replace('ln=15', 'ln=4'), 'frase longa do administrador')).toBe('wrong');
    expect(await checkPassword('$argon2id$v=19$m=65536,t=3,p=1$c2FsdHNhbHQ$aGFzaGhhc2g', 'x')).toBe('wrong');
  }, 30_000);
});
