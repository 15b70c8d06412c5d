// The RADIUS listener's NAS clients (config/load.ts radiusClients): from a file only the service user
// can read, or from MEGALOG_RADIUS_CLIENTS; a bad line is named by number, never echoed (it holds a
// secret); and the listener needs clients to start.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, radiusClients } from '../../src/config/load.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'megalog-radius-clients-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string, mode: number): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  chmodSync(p, mode);
  return p;
}

describe('RADIUS NAS clients', () => {
  it('reads address or prefix, secret and name from a file only its owner can read', () => {
    const p = file('ok', '# comment\n192.0.2.1  s3cret  bng-centro\n\n198.51.100.0/28 other # trailing\n2001:db8::1 v6secret\n', 0o600);
    const got = radiusClients({ radius_clients_file: p }, {});
    expect(got.map((c) => [c.address, c.prefix, c.secret.toString(), c.name])).toEqual([
      ['192.0.2.1', 32, 's3cret', 'bng-centro'],
      ['198.51.100.0', 28, 'other', '198.51.100.0'],
      ['2001:db8::1', 128, 'v6secret', '2001:db8::1'],
    ]);
  });

  it('refuses a file that group or others can read', () => {
    const p = file('open', '192.0.2.1 s3cret\n', 0o640);
    expect(() => radiusClients({ radius_clients_file: p }, {})).toThrow(/readable by group or others/);
  });

  it('takes MEGALOG_RADIUS_CLIENTS over the file, lines separated by ; or newlines', () => {
    const got = radiusClients({ radius_clients_file: '/nonexistent' }, { MEGALOG_RADIUS_CLIENTS: '192.0.2.1 a;192.0.2.2 b' });
    expect(got.map((c) => c.secret.toString())).toEqual(['a', 'b']);
  });

  it('names a bad line by number and never shows its secret', () => {
    const p = file('bad', '192.0.2.1 fine\nnot-an-address hunter2\n192.0.2.3\n10.0.0.0/33 zzz\n', 0o600);
    let err: unknown;
    try {
      radiusClients({ radius_clients_file: p }, {});
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const msg = (err as ConfigError).message;
    expect(msg).toMatch(/line 2: not an address/);
    expect(msg).toMatch(/line 3: no secret/);
    expect(msg).toMatch(/line 4: not an address or prefix/);
    expect(msg).not.toMatch(/hunter2|zzz|fine/);
  });

  it('stops start-up when the listener is on and no clients are given', () => {
    expect(() => loadConfig({ env: { MEGALOG_RADIUS_ACCT_LISTEN: '127.0.0.1:1813' } })).toThrow(/radius_acct_listen: needs NAS clients/);
    expect(loadConfig({ env: { MEGALOG_RADIUS_ACCT_LISTEN: '127.0.0.1:1813', MEGALOG_RADIUS_CLIENTS: '127.0.0.1 x' } }).radius_acct_listen).toEqual(['127.0.0.1:1813']);
  });
});
