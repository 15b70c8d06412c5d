// The .deb: built from this checkout, it holds the units, config, nginx site and sysctl, and the app
// inside it runs on its bundled Node with only its production modules and its sd_notify addon.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, tempDir } from '../helpers/daemon.js';

describe('Debian package', () => {
  it('builds a .deb whose app runs standalone', () => {
    const out = tempDir('megalog-deb-');
    const deb = execFileSync('bash', [join(ROOT, 'packaging', 'build-deb.sh'), out], { encoding: 'utf8' }).trim().split('\n').pop()!;
    const list = execFileSync('dpkg-deb', ['-c', deb], { encoding: 'utf8' });
    for (const f of [
      './lib/systemd/system/megalog-processor.service',
      './lib/systemd/system/megalog-web.service',
      './etc/megalog/megalog.yaml',
      './etc/nginx/sites-available/megalog',
      './etc/sysctl.d/60-megalog.conf',
      './usr/bin/megalog',
      './usr/lib/megalog/node/bin/node',
      './usr/lib/megalog/static/htmx-2.0.8.min.js',
      './usr/lib/megalog/build/Release/megalog.node',
      './usr/lib/megalog/node_modules/better-sqlite3/build/Release/better_sqlite3.node',
    ]) expect(list).toContain(f);
    expect(list).not.toMatch(/node_modules\/vitest\//);
    expect(list).not.toMatch(/obj\.target|\.o$|\/usr\/lib\/megalog\/(native\/|binding\.gyp)|sd-notify/m);
    const control = execFileSync('dpkg-deb', ['-f', deb, 'Package', 'Depends'], { encoding: 'utf8' });
    expect(control).toMatch(/Package: megalog/);
    expect(control).not.toMatch(/libsystemd/);
    const root = tempDir('megalog-root-');
    execFileSync('dpkg-deb', ['-x', deb, root]);
    const app = join(root, 'usr', 'lib', 'megalog');
    const node = join(app, 'node', 'bin', 'node');
    expect(execFileSync(node, [join(app, 'bin', 'megalog.js'), 'version'], { encoding: 'utf8' }).trim()).toMatch(/^\d+\.\d+\.\d+$/);
    // Our addon: stripped, no libsystemd, and it works (ENOENT from a socket that is not there; a lock taken).
    const addon = join(app, 'build', 'Release', 'megalog.node');
    expect(execFileSync('readelf', ['-S', addon], { encoding: 'utf8' })).not.toMatch(/\.symtab/);
    expect(execFileSync('ldd', [addon], { encoding: 'utf8' })).not.toMatch(/libsystemd/);
    expect(execFileSync(node, ['-p', `require(${JSON.stringify(addon)}).send('/nonexistent/notify.sock', 'READY=1')`], { encoding: 'utf8' }).trim()).toBe('2');
    const lockFile = join(root, 'lock');
    expect(execFileSync(node, ['-p', `require(${JSON.stringify(addon)}).lock(require('fs').openSync(${JSON.stringify(lockFile)}, 'w'))`], { encoding: 'utf8' }).trim()).toBe('0');
    const parsed = execFileSync(node, [join(app, 'bin', 'megalog.js'), 'parse'], {
      input: '<134>Nov 25 10:00:00 bng1 firewall,info forward: in:<pppoe-a> out:ether1, connection-state:new,snat proto UDP, 100.64.0.1:5000->1.1.1.1:53, NAT (100.64.0.1:5000->203.0.113.1:6000)->1.1.1.1:53, len 60\n',
      encoding: 'utf8',
      env: { ...process.env, MEGALOG_TIMEZONE: 'UTC' },
    });
    expect(JSON.parse(parsed)).toMatchObject({ nat_ip: '203.0.113.1', nat_port: 6000, src_ip: '100.64.0.1' });
  }, 600_000); // compiles better-sqlite3 and the sd_notify addon from source: over 5 min on a busy 2-core machine
});
