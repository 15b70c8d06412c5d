// The writer's subscriber summaries (src/store/sqlite/dayfile.ts): src_seen holds every (hour,
// subscriber, public address) and login_seen every (login, subscriber) with its first and last hour,
// whatever order the records come in, across commits and after a rolled-back commit that is retried. The writer
// skips the rows it knows it wrote (a subscriber's last hour, address and login), so a record that
// changes any of them must still be noted.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { NatRecord } from '../../src/parse/types.js';
import { dayStart, ipFromDb } from '../../src/store/codes.js';
import { DayFile, type DayLine } from '../../src/store/sqlite/dayfile.js';

const DAY = '2026-03-06';
const T0 = dayStart(DAY);
const OPTS = { journalMode: 'WAL', synchronous: 'NORMAL', cacheSizeMiB: 8, maxPageCount: 0 };
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

let seed = 3;
const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648), Math.floor((seed / 2147483648) * n));

let pos = 0;
/** Records of 6 subscribers over 4 public addresses (one IPv6) and 5 hours; logins change now and then. */
function lines(n: number): DayLine[] {
  const out: DayLine[] = [];
  for (let i = 0; i < n; i++) {
    const s = rnd(6);
    const t = T0 + rnd(5) * 3_600_000 + rnd(3_600) * 1000;
    const nat = ['203.0.113.1', '203.0.113.2', '203.0.113.3', '2001:db8::9'][rnd(s % 2 ? 2 : 4)]!;
    const login = s === 5 ? null : `c${s}${rnd(8) === 0 ? 'b' : ''}`;
    const rec: NatRecord = { vendor: 'mikrotik', event: 'session_create', proto: 'tcp', src_ip: `100.64.0.${s + 1}`, src_port: 1024 + i, nat_ip: nat, nat_port: 2000 + i, nat_port_start: null, nat_port_end: null, dst_ip: '198.51.100.1', dst_port: 443, time: t, host: 'r', login };
    out.push({ end: ++pos, payload: Buffer.from(`line ${i}`), device: '10.0.0.1', time: t, status: 'records', vendor: 'mikrotik', reason: null, records: [rec] });
  }
  return out;
}

describe('day file subscriber summaries', () => {
  it('note every (hour, subscriber, address) and (login, subscriber) the records name, across commits and a retried rollback', () => {
    const d = mkdtempSync(join(tmpdir(), 'megalog-seen-'));
    dirs.push(d);
    const f = new DayFile(join(d, `${DAY}.db`), DAY, OPTS);
    const committed: DayLine[] = [];
    for (let b = 0; b < 6; b++) {
      const batch = lines(400);
      if (b === 3) {
        // a subscriber, address, hour and login no committed line named, in every line of this batch
        for (const l of batch) Object.assign(l.records[0]!, { src_ip: '100.64.0.99', nat_ip: '203.0.113.7', time: T0 + 7 * 3_600_000 + 5_000, login: 'late' });
        for (const l of batch) l.time = l.records[0]!.time!;
        // A commit that fails inside its transaction (after its rec rows): none of its rows stays,
        // and the writer forgets what it had noted of them.
        f.db.exec("CREATE TRIGGER fail AFTER INSERT ON rec BEGIN SELECT RAISE(ABORT, 'injected'); END");
        expect(() => f.commit(batch, batch.at(-1)!.end)).toThrow(/injected/);
        f.db.exec('DROP TRIGGER fail');
        // then committed again, as the committer retries a batch
      }
      f.commit(batch, batch.at(-1)!.end);
      committed.push(...batch);
    }
    const seen = new Set<string>();
    const logins = new Map<string, [number, number]>();
    for (const l of committed) {
      const r = l.records[0]!;
      const hour = Math.floor((r.time! - T0) / 3_600_000);
      seen.add(`${hour}|${r.src_ip}|${r.nat_ip}`);
      if (r.login) {
        const k = `${r.login}|${r.src_ip}`;
        const had = logins.get(k);
        logins.set(k, had ? [Math.min(had[0], hour), Math.max(had[1], hour)] : [hour, hour]);
      }
    }
    const db = f.db;
    const gotSeen = new Set((db.prepare('SELECT hour, src_ip, nat_ip FROM src_seen').all() as { hour: number; src_ip: number; nat_ip: number | Buffer }[]).map((x) => `${x.hour}|${ipFromDb(x.src_ip)}|${ipFromDb(x.nat_ip)}`));
    expect(gotSeen).toEqual(seen);
    const gotLogins = new Map((db.prepare('SELECT name, src_ip, first_hour, last_hour FROM login_seen JOIN login ON login.id = login_seen.login').all() as { name: string; src_ip: number; first_hour: number; last_hour: number }[]).map((x) => [`${x.name}|${ipFromDb(x.src_ip)}`, [x.first_hour, x.last_hour]]));
    expect(gotLogins).toEqual(logins);
    db.close();
  });
});
