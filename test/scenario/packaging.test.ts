// The .deb: built from this checkout, it holds the units, config, nginx site and sysctl, and the app
// inside it runs on its bundled Node with only its production modules and its sd_notify addon. lintian
// finds no error in it (its warnings are printed), and it carries what Debian asks of a package.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT, tempDir } from '../helpers/daemon.js';
import { builtDeb } from '../helpers/deb.js';

let deb = '';
let list = '';

describe('Debian package', () => {
  // The first build of a checkout compiles better-sqlite3 and the sd_notify addon from source: about
  // 4 min, over 5 on a busy 2-core machine; deb-install.test.ts and later runs reuse it.
  beforeAll(() => {
    deb = builtDeb();
    list = execFileSync('dpkg-deb', ['-c', deb], { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  }, 600_000);

  it('builds a .deb whose app runs standalone', () => {
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
  });

  it('lintian finds no error', () => {
    // -I shows the info tags too, for unused overrides; only errors and warnings are printed.
    const r = spawnSync('lintian', ['--allow-root', '-I', '--tag-display-limit', '0', deb], { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
    const tags = `${r.stdout}${r.stderr}`.split('\n').filter((l) => /^[EWI]: /.test(l));
    console.log(`lintian on ${deb}:\n${tags.filter((l) => !l.startsWith('I: ')).join('\n') || '(no errors, no warnings)'}`);
    expect(tags.filter((l) => l.startsWith('E: '))).toEqual([]);
    expect(tags.filter((l) => /unused-override|mismatched-override/.test(l)), 'every override in packaging/debian/lintian-overrides is needed').toEqual([]);
  }, 300_000);

  it('carries a copyright file, a changelog, a manual page and no build leftovers', () => {
    expect(list.split('\n')[0]).toMatch(/^drwxr-xr-x root\/root .* \.\/$/); // not mktemp's 0700
    for (const f of [
      './usr/share/doc/megalog/copyright',
      './usr/share/doc/megalog/changelog.gz',
      './usr/share/man/man1/megalog.1.gz',
      './usr/share/lintian/overrides/megalog',
      './usr/lib/megalog/node/LICENSE',
      './usr/share/megalog/grafana/megalog.json',
      './usr/share/megalog/prometheus/megalog-rules.yml',
      './usr/share/megalog/prometheus/scrape.yml',
    ]) expect(list).toContain(f);
    expect(list).not.toMatch(/obj\.target|sqlite3\.a|test_extension\.node|\.map$|better-sqlite3\/(deps|src)\/|\.eslintrc|\.npmignore|node_modules\/\.bin/m);
    // Nothing under the app is executable but node itself.
    const executables = list.split('\n').filter((l) => /^-..x/.test(l)).map((l) => l.split(/\s+/).pop());
    expect(executables.sort()).toEqual(['./usr/bin/megalog', './usr/lib/megalog/node/bin/node']);
    const root = tempDir('megalog-root-');
    execFileSync('dpkg-deb', ['-x', deb, root]);
    const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version as string;
    const copyright = readFileSync(join(root, 'usr', 'share', 'doc', 'megalog', 'copyright'), 'utf8');
    expect(copyright).toMatch(/AGPL-3\.0-only/);
    expect(copyright).toMatch(/GNU AFFERO GENERAL PUBLIC LICENSE\s+Version 3, 19 November 2007/);
    expect(copyright).toMatch(/^ better-sqlite3 \d+\.\d+\.\d+: MIT, \/usr\/lib\/megalog\/node_modules\/better-sqlite3\/LICENSE$/m);
    const changelog = gunzipSync(readFileSync(join(root, 'usr', 'share', 'doc', 'megalog', 'changelog.gz'))).toString('utf8');
    expect(changelog.split('\n')[0]).toBe(`megalog (${version}) stable; urgency=medium`);
    expect(changelog).toMatch(/^ -- .+ <.+@.+\..+> {2}\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000$/m);
    // The maintainer scripts are the ones tested in maintainer-scripts.test.ts.
    const control = tempDir('megalog-control-');
    execFileSync('dpkg-deb', ['-e', deb, control]);
    for (const s of ['postinst', 'prerm', 'postrm']) {
      expect(readFileSync(join(control, s), 'utf8')).toBe(readFileSync(join(ROOT, 'packaging', 'debian', s), 'utf8'));
    }
    expect(readFileSync(join(control, 'md5sums'), 'utf8')).toMatch(/^[0-9a-f]{32} {2}usr\/lib\/megalog\/node\/bin\/node$/m);
  });
});
