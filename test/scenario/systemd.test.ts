// sd_notify: under systemd (NOTIFY_SOCKET set) the daemon says READY=1 once it listens, feeds the
// watchdog at half of WATCHDOG_USEC and says STOPPING=1 at SIGTERM, through our addon (native/megalog.c,
// no libsystemd). A real AF_UNIX datagram socket, bound by python3, plays systemd's part.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT, startDaemon, stopDaemon, tempDir, waitFor, type Daemon } from '../helpers/daemon.js';

const ADDON = join(ROOT, 'build', 'Release', 'megalog.node');

interface Listener {
  proc: ChildProcessWithoutNullStreams;
  /** The datagrams received so far, in order. */
  messages: string[];
}

/** Bind a datagram socket at `address` (a path, or `@name` in the abstract namespace) and collect what arrives. */
async function listen(address: string): Promise<Listener> {
  // Node itself cannot bind AF_UNIX datagram sockets; python3 is on every machine that builds the addon.
  const proc = spawn('python3', ['-u', '-c', `import json, socket, sys
a = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind('\\0' + a[1:] if a.startswith('@') else a)
print('"bound"', flush=True)
while True: print(json.dumps(s.recv(65536).decode()), flush=True)`, address]);
  const l: Listener = { proc, messages: [] };
  let buf = '';
  let bound = false;
  let err = '';
  proc.stderr.on('data', (c) => (err += c));
  proc.stdout.on('data', (c) => {
    buf += c;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const m = JSON.parse(buf.slice(0, i)) as string;
      buf = buf.slice(i + 1);
      if (m === 'bound' && !bound) bound = true;
      else l.messages.push(m);
    }
  });
  await waitFor(`listener bound at ${address}`, () => bound || (proc.exitCode !== null && Promise.reject(new Error(err))), 10_000);
  return l;
}

/** Wait for `message` (its 1-based place), failing at once, with the daemon's stderr, if the daemon dies first. */
function heard(l: Listener, d: Daemon, message: string): Promise<number> {
  return Promise.race([
    waitFor(message, () => l.messages.indexOf(message) + 1, 15_000),
    d.exited.then((code) => Promise.reject(new Error(`daemon exited (${code}) before ${message}:\n${d.stderr()}`))),
  ]);
}

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

describe('systemd notification', () => {
  it('the addon sends one datagram and reports errors as errno', async () => {
    expect(existsSync(ADDON), `${ADDON} is built by npm ci (node-gyp)`).toBe(true);
    const addon = createRequire(import.meta.url)(ADDON) as { send(path: string, message: string): number };
    const dir = tempDir();
    const l = await listen(join(dir, 'n.sock'));
    cleanup.push(async () => l.proc.kill());
    expect(addon.send(join(dir, 'n.sock'), 'STATUS=one\nREADY=1')).toBe(0);
    await waitFor('datagram', () => l.messages.length > 0);
    expect(l.messages).toEqual(['STATUS=one\nREADY=1']);
    expect(addon.send(join(dir, 'absent.sock'), 'READY=1')).toBe(2); // ENOENT
    expect(addon.send('relative.sock', 'READY=1')).toBe(97); // EAFNOSUPPORT, as sd_notify(3)
    expect(() => addon.send(`/${'x'.repeat(200)}`, 'READY=1')).toThrow(TypeError);
  });

  it('processor sends READY=1, WATCHDOG=1 and STOPPING=1 to a NOTIFY_SOCKET path', async () => {
    const dir = tempDir();
    const sock = join(dir, 'notify.sock');
    const l = await listen(sock);
    cleanup.push(async () => l.proc.kill());
    const d = await startDaemon(dir, { NOTIFY_SOCKET: sock, WATCHDOG_USEC: '1000000' });
    cleanup.push(() => stopDaemon(d, 'SIGKILL'));
    const ready = await heard(l, d, 'READY=1');
    const watchdog = await heard(l, d, 'WATCHDOG=1');
    expect(ready).toBeLessThan(watchdog);
    expect(l.messages.filter((m) => m === 'READY=1')).toHaveLength(1);
    expect(await stopDaemon(d)).toBe(0);
    await waitFor('STOPPING=1', () => l.messages.includes('STOPPING=1'));
    expect(l.messages.at(-1)).toBe('STOPPING=1');
  });

  it('run sends READY=1 and STOPPING=1 to an abstract socket (@name), no watchdog unless asked', async () => {
    const dir = tempDir();
    const sock = `@megalog-test-${process.pid}-${Date.now()}`;
    const l = await listen(sock);
    cleanup.push(async () => l.proc.kill());
    const d = await startDaemon(dir, { NOTIFY_SOCKET: sock, WATCHDOG_USEC: '' }, 'run');
    cleanup.push(() => stopDaemon(d, 'SIGKILL'));
    await heard(l, d, 'READY=1');
    expect(d.webPort).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 1200));
    expect(await stopDaemon(d)).toBe(0);
    await waitFor('STOPPING=1', () => l.messages.includes('STOPPING=1'));
    expect(l.messages).toEqual(['READY=1', 'STOPPING=1']);
  });
});
