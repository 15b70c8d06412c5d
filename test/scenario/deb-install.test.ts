// The .deb on a clean Debian 12, installed as an operator installs it: a minbase root made by the test
// (test/helpers/debian.ts) with systemd as init and the package's Depends and Recommends, booted by
// systemd-nspawn, where `apt-get install ./megalog_*.deb` installs it. Both units become active
// (Type=notify: only once they sent READY=1), a syslog line sent to UDP 514 is committed and found by
// `megalog search`, the nginx site passes `nginx -t` and serves /health, an upgrade to a newer version
// keeps the data and runs the new version, and a purge leaves /var/lib/megalog in place.
// A first run also builds the .deb (4–5 min, shared with packaging.test.ts) and the root (about a
// minute from the network); with both cached, the file takes 70–80 s.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, tempDir, waitFor } from '../helpers/daemon.js';
import { builtDeb } from '../helpers/deb.js';
import { debianRoot, Machine } from '../helpers/debian.js';

const UNITS = ['megalog-processor.service', 'megalog-web.service'];
const NODE = '/usr/lib/megalog/node/bin/node';

let m: Machine;
/** Where the newer build is made; deleted at the end. */
let scratch = '';
let deb = '';
let version = '';
/** The packaged configuration's time zone, in which the routers' zone-less syslog times are read. */
let zone = '';
/** When the first line was sent, to the second. */
let firstAt = new Date(0);

/** The package's Depends and Recommends: the first of each set of alternatives, without versions. */
function relations(path: string): string[] {
  return execFileSync('dpkg-deb', ['-f', path, 'Depends', 'Recommends'], { encoding: 'utf8' })
    .split('\n')
    .flatMap((l) => l.replace(/^[\w-]+:/, '').split(','))
    .map((d) => d.split('|')[0]!.replace(/\(.*\)/, '').trim())
    .filter(Boolean);
}

/**
 * `path` repacked with the last number of its version raised by one, in the control file and the
 * app's package.json (what `megalog version` and /health report): a later build as dpkg sees it,
 * without a second 4-minute build of the same bytes.
 */
function nextBuild(path: string): { deb: string; version: string } {
  const tree = join(scratch, 'tree');
  execFileSync('dpkg-deb', ['--raw-extract', path, tree]);
  const pkg = join(tree, 'usr', 'lib', 'megalog', 'package.json');
  const old = JSON.parse(readFileSync(pkg, 'utf8')).version as string;
  const next = old.replace(/\d+$/, (n) => String(Number(n) + 1));
  writeFileSync(pkg, readFileSync(pkg, 'utf8').replace(`"version": "${old}"`, `"version": "${next}"`));
  const control = join(tree, 'DEBIAN', 'control');
  writeFileSync(control, readFileSync(control, 'utf8').replace(/^Version: .*$/m, `Version: ${next}`));
  const sums = join(tree, 'DEBIAN', 'md5sums');
  const md5 = createHash('md5').update(readFileSync(pkg)).digest('hex');
  writeFileSync(sums, readFileSync(sums, 'utf8').replace(/^[0-9a-f]{32}( {2}usr\/lib\/megalog\/package\.json)$/m, `${md5}$1`));
  const out = join(scratch, basename(path).replace(`_${old}_`, `_${next}_`));
  execFileSync('dpkg-deb', ['--root-owner-group', '-Zgzip', '-z1', '--build', tree, out], { stdio: 'ignore' });
  return { deb: out, version: next };
}

/** A MikroTik forward-chain line with NAT state, stamped `at` in the zone-less BSD format of RouterOS. */
function mikrotik(at: Date, natPort: number): string {
  const p = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', { timeZone: zone, month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' })
      .formatToParts(at)
      .map((x) => [x.type, x.value]),
  );
  const stamp = `${p.month} ${p.day!.padStart(2, ' ')} ${p.hour}:${p.minute}:${p.second}`;
  return `<134>${stamp} bng1 firewall,info forward: in:<pppoe-a> out:ether1, connection-state:new,snat proto UDP, 100.64.0.1:5000->1.1.1.1:53, NAT (100.64.0.1:5000->203.0.113.1:${natPort})->1.1.1.1:53, len 60`;
}

/** Send `line` as one datagram to the processor's syslog port, from inside the machine. */
function sendSyslog(line: string): void {
  expect(m.run(['bash', '-c', 'cat > /dev/udp/127.0.0.1/514'], { input: line }).status).toBe(0);
}

/** `megalog search` for 203.0.113.1:`natPort` at `at`, as the megalog user, until it answers `unique`. */
async function found(natPort: number, at: Date): Promise<{ raw: string }> {
  const iso = at.toISOString().replace(/\.\d+Z$/, 'Z');
  return waitFor(`203.0.113.1:${natPort} committed and found`, () => {
    const out = m.sh(`runuser -u megalog -- megalog search --nat-ip 203.0.113.1 --nat-port ${natPort} --at ${iso} --case DEB-INSTALL --json`);
    const a = JSON.parse(out) as { verdict: string; candidates: { raw: string }[] };
    return a.verdict === 'unique' && a.candidates[0];
  }, 60_000);
}

/** GET `url` from inside the machine with the package's Node (the minbase root has no curl). */
function get(url: string): { status: number; body: string } {
  const out = m.sh(`NODE_TLS_REJECT_UNAUTHORIZED=0 ${NODE} --no-warnings -e 'fetch(process.argv[1]).then(async (r) => console.log(JSON.stringify({ status: r.status, body: await r.text() })))' '${url}'`);
  return JSON.parse(out);
}

/** The units' main PIDs, once both are active; a unit that is not says why, from its journal. */
async function active(): Promise<number[]> {
  await waitFor('both units active', () => m.run(['systemctl', 'is-active', ...UNITS]).stdout.trim() === 'active\nactive', 30_000).catch((err) => {
    throw new Error(`${err.message}\n${m.run(['journalctl', '--no-pager', '-n', '40', ...UNITS.flatMap((u) => ['-u', u])]).stdout}`);
  });
  return UNITS.map((u) => Number(m.sh(`systemctl show --property=MainPID --value ${u}`).trim()));
}

/**
 * Copy a .deb into the machine and install it with apt. The machine has no network (its own loopback
 * only), so apt must find every dependency already installed.
 */
function aptInstall(path: string): string {
  copyFileSync(path, join(m.root, 'var', 'tmp', basename(path)));
  return m.sh(`apt-get install --yes /var/tmp/${basename(path)} 2>&1`);
}

describe('the .deb on a clean Debian 12', () => {
  beforeAll(async () => {
    scratch = tempDir('megalog-deb-install-');
    deb = builtDeb();
    version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;
    // systemd-sysv: systemd as /sbin/init, which minbase leaves out.
    m = await Machine.boot(debianRoot(['systemd-sysv', ...relations(deb)]));
  }, 1_200_000);

  afterAll(async () => {
    await m?.stop();
    rmSync(scratch, { recursive: true, force: true });
  }, 120_000);

  it('apt installs it and both units start and say READY=1', async () => {
    const log = aptInstall(deb);
    expect(log).toMatch(new RegExp(`Setting up megalog \\(${version.replace(/\./g, '\\.')}\\)`));
    const pids = await active();
    expect(pids.every((p) => p > 0)).toBe(true);
    for (const u of UNITS) expect(m.sh(`systemctl show --property=Type,NRestarts ${u}`)).toBe('Type=notify\nNRestarts=0\n');
    expect(m.sh('megalog version').trim()).toBe(version);
    expect(m.sh('dpkg --verify megalog'), 'installed files match the md5sums').toBe('');
    zone = /^timezone:\s*(\S+)/m.exec(m.sh('cat /etc/megalog/megalog.yaml'))![1]!;
  }, 300_000);

  it('commits a syslog line received on UDP 514 and finds it with megalog search', async () => {
    firstAt = new Date(Math.floor(Date.now() / 1000) * 1000);
    const line = mikrotik(firstAt, 6000);
    sendSyslog(line);
    expect((await found(6000, firstAt)).raw).toBe(line);
  }, 120_000);

  it('the nginx site passes nginx -t and serves /health', () => {
    m.sh('ln -s /etc/nginx/sites-available/megalog /etc/nginx/sites-enabled/megalog');
    const t = m.run(['nginx', '-t']);
    expect(t.stderr).toMatch(/test is successful/);
    expect(t.status).toBe(0);
    m.sh('systemctl reload nginx');
    const h = get('https://127.0.0.1/health');
    expect(h.status).toBe(200);
    expect(JSON.parse(h.body)).toMatchObject({ status: 'healthy', version });
  }, 60_000);

  it('an upgrade keeps the data and runs the new version', async () => {
    const before = await active();
    const next = nextBuild(deb);
    expect(aptInstall(next.deb)).toMatch(/Unpacking megalog \(.+\) over \(.+\)/);
    const after = await active();
    for (const [i, pid] of after.entries()) expect(pid, UNITS[i]).not.toBe(before[i]);
    expect(m.sh('megalog version').trim()).toBe(next.version);
    expect(m.sh('dpkg --verify megalog'), 'installed files match the md5sums').toBe('');
    expect(JSON.parse(get('http://127.0.0.1:5000/health').body)).toMatchObject({ version: next.version });
    // The line committed by the old version is still there, and the new one commits.
    expect((await found(6000, firstAt)).raw).toBe(mikrotik(firstAt, 6000));
    const at = new Date(Math.floor(Date.now() / 1000) * 1000);
    sendSyslog(mikrotik(at, 6001));
    expect((await found(6001, at)).raw).toBe(mikrotik(at, 6001));
  }, 300_000);

  it('purge removes the package and its units and keeps /var/lib/megalog', () => {
    const days = m.sh('ls /var/lib/megalog/cold').split('\n').filter((n) => n.endsWith('.db'));
    expect(days.length).toBeGreaterThan(0);
    m.sh('apt-get purge --yes megalog 2>&1');
    expect(m.run(['dpkg-query', '--show', 'megalog']).status).not.toBe(0);
    expect(m.run(['systemctl', 'list-unit-files', '--no-legend', 'megalog*']).stdout).toBe('');
    expect(m.run(['systemctl', 'is-active', ...UNITS]).stdout).toBe('inactive\ninactive\n');
    expect(m.run(['test', '-e', '/etc/megalog/megalog.yaml']).status).not.toBe(0);
    expect(m.sh('ls /var/lib/megalog/cold').split('\n').filter((n) => n.endsWith('.db'))).toEqual(days);
    expect(m.sh('stat -c %U:%G /var/lib/megalog').trim()).toBe('megalog:megalog');
  }, 120_000);
});
