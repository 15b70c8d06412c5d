// The maintainer scripts (packaging/debian/postinst, prerm, postrm), called as dpkg calls them on
// install, upgrade, remove and purge (Debian Policy 6.5–6.7). Every command that would change this
// machine (systemctl, deb-systemd-*, adduser, install, chown, openssl…) is a stub on PATH that records
// its arguments; each script runs in a private mount namespace (unshare, as root) with a tmpfs on /run,
// holding /run/systemd/system when systemd is meant to be running, and one on /var/lib with a day file.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, tempDir } from '../helpers/daemon.js';

const SCRIPTS = join(ROOT, 'packaging', 'debian');
const UNITS = 'megalog-processor.service megalog-web.service';
const STUBBED = ['systemctl', 'deb-systemd-invoke', 'deb-systemd-helper', 'addgroup', 'adduser', 'getent', 'install', 'chown', 'chmod',
  'openssl', 'sysctl', 'rm', 'deluser', 'delgroup', 'userdel', 'groupdel', 'update-rc.d', 'invoke-rc.d'];
/** The commands that start, stop, enable or disable units. */
const SYSTEMD = /^(systemctl|deb-systemd-invoke|deb-systemd-helper|update-rc\.d|invoke-rc\.d) /;

interface Options {
  /** Whether systemd runs (/run/systemd/system exists). Default true. */
  systemd?: boolean;
  /** Exit status of `getent` (0: the megalog user exists, 2: it does not). Default 2. */
  getent?: number;
  /** Exit status of `deb-systemd-helper was-enabled`. Default 0 (enabled, or a first install). */
  wasEnabled?: number;
  /** A stub that fails (exit 1) besides recording its call. */
  failing?: string;
  env?: Record<string, string>;
}

interface Run {
  status: number | null;
  /** Every stubbed command called, "name arg…", in order. */
  calls: string[];
  /** Whether /var/lib/megalog/cold/2026-01-01.db was still there after the script. */
  evidenceKept: boolean;
  stderr: string;
}

/** Run one maintainer script with `args`, as dpkg would, in a namespace of its own. */
function maint(script: 'postinst' | 'prerm' | 'postrm', args: string[], o: Options = {}): Run {
  const dir = tempDir('megalog-maint-');
  const stubs = join(dir, 'bin');
  mkdirSync(stubs);
  const log = join(dir, 'calls.log');
  writeFileSync(log, '');
  for (const name of STUBBED) {
    const status = name === 'getent' ? (o.getent ?? 2) : name === o.failing ? 1 : 0;
    const body = name === 'deb-systemd-helper'
      ? `case " $* " in *" was-enabled "*) exit ${o.wasEnabled ?? 0};; esac\nexit ${status}`
      : `exit ${status}`;
    writeFileSync(join(stubs, name), `#!/bin/sh\necho "${name} $*" >> "${log}"\n${body}\n`);
    chmodSync(join(stubs, name), 0o755);
  }
  const setup = [
    'set -e',
    'mount -t tmpfs tmpfs /run',
    'mount -t tmpfs tmpfs /var/lib',
    'mkdir -p /var/lib/megalog/cold',
    'echo evidence > /var/lib/megalog/cold/2026-01-01.db',
    o.systemd === false ? ':' : 'mkdir -p /run/systemd/system',
    'set +e',
    'sh "$@"',
    'rc=$?',
    '[ -f /var/lib/megalog/cold/2026-01-01.db ] && echo evidence-kept',
    'exit $rc',
  ].join('\n');
  const env: Record<string, string> = { PATH: `${stubs}:/usr/sbin:/usr/bin:/sbin:/bin`, LC_ALL: 'C', ...o.env };
  const r = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', setup, 'sh', join(SCRIPTS, script), ...args], {
    encoding: 'utf8',
    env,
  });
  if (r.error) throw r.error;
  const calls = readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => l.trimEnd());
  return { status: r.status, calls, evidenceKept: r.stdout.includes('evidence-kept'), stderr: r.stderr };
}

const systemdCalls = (r: Run) => r.calls.filter((c) => SYSTEMD.test(c));

/** deb-systemd-helper's part of postinst configure, per unit, as dh_installsystemd writes it. */
const enable = (verb: 'enable' | 'update-state') =>
  UNITS.split(' ').flatMap((u) => [`deb-systemd-helper unmask ${u}`, `deb-systemd-helper --quiet was-enabled ${u}`, `deb-systemd-helper ${verb} ${u}`]);

describe('maintainer scripts', () => {
  it('a first install creates the user, enables both units and starts them', () => {
    const r = maint('postinst', ['configure', '']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.calls).toContain('addgroup --system megalog');
    expect(r.calls.some((c) => c.startsWith('adduser --system --ingroup megalog --home /var/lib/megalog'))).toBe(true);
    expect(systemdCalls(r)).toEqual([...enable('enable'), 'systemctl --system daemon-reload', `deb-systemd-invoke start ${UNITS}`]);
  });

  it('an upgrade stops the old version before its files are replaced and starts the new one', () => {
    // dpkg: old prerm upgrade NEW; unpack; old postrm upgrade NEW; new postinst configure OLD.
    const prerm = maint('prerm', ['upgrade', '0.5.0']);
    const postrm = maint('postrm', ['upgrade', '0.5.0']);
    const postinst = maint('postinst', ['configure', '0.4.0'], { getent: 0 });
    for (const r of [prerm, postrm, postinst]) expect(r.status, r.stderr).toBe(0);
    expect(systemdCalls(prerm)).toEqual(['deb-systemd-invoke stop megalog-web.service megalog-processor.service']);
    expect(systemdCalls(postrm)).toEqual([]);
    // restart, not start: a 0.4.0 prerm left the old version running, and restart starts a stopped unit.
    expect(systemdCalls(postinst)).toEqual([...enable('enable'), 'systemctl --system daemon-reload', `deb-systemd-invoke restart ${UNITS}`]);
    expect(postinst.calls.filter((c) => /^add(user|group) /.test(c))).toEqual([]);
  });

  it('an upgrade keeps a unit the operator disabled disabled', () => {
    const r = maint('postinst', ['configure', '0.4.0'], { getent: 0, wasEnabled: 1 });
    expect(r.status, r.stderr).toBe(0);
    // update-state, not enable; deb-systemd-invoke itself starts only enabled units.
    expect(systemdCalls(r)).toEqual([...enable('update-state'), 'systemctl --system daemon-reload', `deb-systemd-invoke restart ${UNITS}`]);
  });

  it('remove stops both units and masks them; the evidence stays', () => {
    const prerm = maint('prerm', ['remove']);
    const postrm = maint('postrm', ['remove']);
    for (const r of [prerm, postrm]) expect(r.status, r.stderr).toBe(0);
    expect(systemdCalls(prerm)).toEqual(['deb-systemd-invoke stop megalog-web.service megalog-processor.service']);
    expect(systemdCalls(postrm)).toEqual(['systemctl --system daemon-reload', `deb-systemd-helper mask ${UNITS}`]);
    expect(postrm.evidenceKept).toBe(true);
  });

  it('purge forgets the units and keeps /var/lib/megalog and the megalog user', () => {
    const r = maint('postrm', ['purge']);
    expect(r.status, r.stderr).toBe(0);
    expect(systemdCalls(r)).toEqual([`deb-systemd-helper purge ${UNITS}`, `deb-systemd-helper unmask ${UNITS}`]);
    expect(r.evidenceKept).toBe(true);
    expect(r.calls.filter((c) => /^(rm|deluser|delgroup|userdel|groupdel) /.test(c) || c.includes('/var/lib/megalog'))).toEqual([]);
  });

  it('without a running systemd (a chroot) postinst only enables, for the first boot, and prerm does nothing', () => {
    const postinst = maint('postinst', ['configure', ''], { systemd: false });
    const prerm = maint('prerm', ['upgrade', '0.5.0'], { systemd: false });
    expect(postinst.status, postinst.stderr).toBe(0);
    expect(prerm.status, prerm.stderr).toBe(0);
    expect(systemdCalls(postinst)).toEqual(enable('enable'));
    expect(systemdCalls(prerm)).toEqual([]);
  });

  it('installing into another root (DPKG_ROOT) touches no running service', () => {
    const env = { DPKG_ROOT: '/srv/image' };
    expect(systemdCalls(maint('prerm', ['remove'], { env }))).toEqual([]);
    expect(systemdCalls(maint('postinst', ['configure', ''], { env }))).toEqual(enable('enable'));
  });

  it('a unit that fails to start or stop fails no dpkg step', () => {
    expect(maint('postinst', ['configure', ''], { failing: 'deb-systemd-invoke' }).status).toBe(0);
    expect(maint('prerm', ['upgrade', '0.5.0'], { failing: 'deb-systemd-invoke' }).status).toBe(0);
    expect(maint('postrm', ['purge'], { failing: 'deb-systemd-helper' }).status).toBe(0);
  });
});
