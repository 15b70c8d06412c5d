// The units' sandbox: `systemd-analyze security` (offline, no PID-1 systemd needed) scores the
// processor at most 3.0 and the web console at most 4.0, `systemd-analyze verify` finds nothing to say
// about either, and the directives the services need to work are still there (port 514, the data and
// config directories, the notify socket, V8's JIT).
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, tempDir } from '../helpers/daemon.js';

const UNITS = join(ROOT, 'systemd');
const LIMITS = { 'megalog-processor.service': 3.0, 'megalog-web.service': 4.0 };

/** The overall exposure `systemd-analyze security` gives a unit file (0 safest, 10 most exposed). */
function exposure(unit: string): number {
  const out = execFileSync('systemd-analyze', ['security', '--offline=yes', '--no-pager', join(UNITS, unit)], { encoding: 'utf8' });
  const m = /Overall exposure level for \S+: (\d+\.\d+)/.exec(out);
  if (!m) throw new Error(`no overall exposure in:\n${out}`);
  console.log(`${unit}: exposure ${m[1]}`);
  return Number(m[1]);
}

/** The [Service] settings of a unit file, each key with all its values in order. */
function service(unit: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let section = '';
  for (const raw of readFileSync(join(UNITS, unit), 'utf8').split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    if (line.startsWith('[')) section = line;
    else if (section === '[Service]') {
      const i = line.indexOf('=');
      const k = line.slice(0, i);
      out.set(k, [...(out.get(k) ?? []), line.slice(i + 1)]);
    }
  }
  return out;
}

describe('systemd units', () => {
  for (const [unit, limit] of Object.entries(LIMITS)) {
    it(`${unit} scores at most ${limit} in systemd-analyze security`, () => {
      expect(exposure(unit)).toBeLessThanOrEqual(limit);
    });
  }

  it('systemd-analyze verify has nothing to say about either unit', () => {
    // verify wants the ExecStart binaries and the targets the units name: a small root holding the
    // host's unit directory, kill, a stand-in /usr/bin/megalog and our two units.
    const root = tempDir('megalog-units-');
    mkdirSync(join(root, 'usr', 'bin'), { recursive: true });
    mkdirSync(join(root, 'usr', 'lib', 'systemd'), { recursive: true });
    symlinkSync('usr/bin', join(root, 'bin'));
    symlinkSync('usr/lib', join(root, 'lib'));
    cpSync('/usr/lib/systemd/system', join(root, 'usr', 'lib', 'systemd', 'system'), { recursive: true, verbatimSymlinks: true });
    cpSync('/usr/bin/kill', join(root, 'usr', 'bin', 'kill'));
    writeFileSync(join(root, 'usr', 'bin', 'megalog'), '#!/bin/sh\n');
    chmodSync(join(root, 'usr', 'bin', 'megalog'), 0o755);
    for (const unit of Object.keys(LIMITS)) cpSync(join(UNITS, unit), join(root, 'usr', 'lib', 'systemd', 'system', unit));
    const r = spawnSync('systemd-analyze', ['verify', `--root=${root}`, ...Object.keys(LIMITS)], { encoding: 'utf8' });
    expect(`${r.stdout}${r.stderr}`).toBe('');
    expect(r.status).toBe(0);
  });

  it('the processor keeps what it needs: port 514, its directories, the notify socket, worker threads', () => {
    const s = service('megalog-processor.service');
    expect(s.get('User')).toEqual(['megalog']);
    expect(s.get('AmbientCapabilities')).toEqual(['CAP_NET_BIND_SERVICE']);
    expect(s.get('CapabilityBoundingSet')).toEqual(['CAP_NET_BIND_SERVICE']);
    // A user namespace would hold the capability only inside it: no binding 514 on the host.
    expect(s.get('PrivateUsers') ?? ['no']).toEqual(['no']);
    expect(s.get('ReadWritePaths')).toEqual(['/var/lib/megalog']);
    expect(s.get('ProtectSystem')).toEqual(['strict']); // /etc/megalog stays readable
    expect(s.get('InaccessiblePaths')).toBeUndefined();
    expect(s.get('RestrictAddressFamilies')?.join(' ').split(' ').sort()).toEqual(['AF_INET', 'AF_INET6', 'AF_UNIX']);
    expect(s.get('PrivateNetwork') ?? ['no']).toEqual(['no']);
    // /proc/net/udp is where the kernel's UDP drop counter is read.
    expect(s.get('ProcSubset')).toBeUndefined();
  });

  it('the web console keeps what it needs: its directories, the loopback, the notify socket', () => {
    const s = service('megalog-web.service');
    expect(s.get('User')).toEqual(['megalog']);
    expect(s.get('ReadWritePaths')).toEqual(['/var/lib/megalog']);
    expect(s.get('RestrictAddressFamilies')?.join(' ').split(' ')).toContain('AF_UNIX');
    expect(s.get('IPAddressAllow')).toEqual(['localhost']);
  });

  for (const unit of Object.keys(LIMITS)) {
    it(`${unit} lets V8 map JIT code (no MemoryDenyWriteExecute) and hears from the main process only`, () => {
      const s = service(unit);
      expect(s.get('MemoryDenyWriteExecute') ?? ['no']).toEqual(['no']);
      expect(s.get('Type')).toEqual(['notify']);
      expect(s.get('NotifyAccess')).toEqual(['main']);
      // Denied system calls fail with EPERM rather than killing Node with SIGSYS.
      expect(s.get('SystemCallErrorNumber')).toEqual(['EPERM']);
    });
  }
});
