// Syslog over TLS (RFC 5425): octet-counted frames over a real TLS socket; certificate reloaded on SIGHUP.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { committedRaw, startDaemon, stopDaemon, tempDir, waitFor, type Daemon } from '../helpers/daemon.js';
import { mikrotikLine } from '../helpers/gen.js';

function makeCert(dir: string, cn: string): void {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', `/CN=${cn}`, '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
}

function tlsSend(port: number, data: string, ca: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, ca, checkServerIdentity: () => undefined }, () => {
      const cn = String(s.getPeerCertificate().subject?.CN);
      s.end(data, () => resolve(cn));
    });
    s.on('error', reject);
  });
}

let d: Daemon | null = null;
afterEach(async () => {
  if (d) await stopDaemon(d, 'SIGKILL');
  d = null;
});

describe('TLS source', () => {
  it('commits octet-counted frames received over TLS and picks up a new certificate on SIGHUP', async () => {
    const dir = tempDir();
    makeCert(dir, 'megalog-one');
    d = await startDaemon(dir, { MEGALOG_SYSLOG_TLS_LISTEN: '127.0.0.1:0', MEGALOG_TLS_CERT_FILE: join(dir, 'cert.pem'), MEGALOG_TLS_KEY_FILE: join(dir, 'key.pem') });
    const now = Date.now() - 5000;
    const frame = (tag: string) => {
      const l = mikrotikLine({ time: now, srcIp: '100.64.9.9', srcPort: 5555, natIp: '203.0.113.77', natPort: 6666, dstIp: '1.1.1.1', dstPort: 443, proto: 'TCP', tag });
      return `${Buffer.byteLength(l)} ${l}`;
    };
    expect(await tlsSend(d.tlsPort!, frame('tls1') + frame('tls2'), readFileSync(join(dir, 'cert.pem')))).toBe('megalog-one');
    // garbage that is not TLS must not hurt the listener
    await new Promise<void>((r) => {
      const s = netConnect(d!.tlsPort!, '127.0.0.1', () => s.end('not a tls hello\n'));
      s.on('close', () => r());
      s.on('error', () => r());
    });
    makeCert(dir, 'megalog-two');
    d.proc.kill('SIGHUP');
    await waitFor('new certificate served', async () => (await tlsSend(d!.tlsPort!, frame('tls3'), readFileSync(join(dir, 'cert.pem'))).catch(() => '')) === 'megalog-two');
    const day = new Date(now).toISOString().slice(0, 10);
    await waitFor('TLS lines committed', () => {
      const raws = committedRaw(join(dir, 'cold')).get(day) ?? [];
      return ['tls1', 'tls2', 'tls3'].every((t) => raws.some((r) => r.includes(` ${t} forward`)));
    });
    expect(d.stderr()).toMatch(/certificate reloaded/);
  });
});
