// sd_notify: under systemd (NOTIFY_SOCKET set) the daemon says READY=1 once it listens, and feeds the
// watchdog at half of WATCHDOG_USEC. A real AF_UNIX datagram socket plays systemd's part.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startDaemon, stopDaemon, tempDir, waitFor } from '../helpers/daemon.js';

describe('systemd notification', () => {
  it('sends READY=1 and WATCHDOG=1 to NOTIFY_SOCKET', async () => {
    const dir = tempDir();
    const sock = join(dir, 'notify.sock');
    // python3 is on every machine of this kind; Node itself cannot bind AF_UNIX datagram sockets.
    const listener = spawn('python3', ['-u', '-c', `import socket,sys
s=socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1]); print('bound', flush=True)
while True: print(s.recv(4096).decode().replace('\\n',' '), flush=True)`, sock]);
    let heard = '';
    listener.stdout.on('data', (c) => (heard += c));
    await waitFor('listener bound', () => heard.includes('bound'));
    const d = await startDaemon(dir, { NOTIFY_SOCKET: sock, WATCHDOG_USEC: '1000000' } as Record<string, string>);
    try {
      await waitFor('READY=1', () => heard.includes('READY=1'));
      await waitFor('WATCHDOG=1', () => heard.includes('WATCHDOG=1'));
      await stopDaemon(d);
      await waitFor('STOPPING=1', () => heard.includes('STOPPING=1'));
      expect(heard).toMatch(/READY=1/);
    } finally {
      listener.kill();
      await stopDaemon(d, 'SIGKILL');
    }
  });
});
