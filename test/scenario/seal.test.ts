// Sealing day files as evidence: sealed after the grace, hash-chained manifest, late lines reopen a
// sealed day with nothing lost, verify catches edits, the court report uses the manifest's hash.
import { execFileSync } from 'node:child_process';
import { appendFileSync, chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { Stats } from '../../src/core/counters.js';
import { DAY_MS, dayStart } from '../../src/store/codes.js';
import { sha256File } from '../../src/core/hash.js';
import { manifestPath, readManifest, ManifestWriter, type SealEntry } from '../../src/evidence/manifest.js';
import { Sealer } from '../../src/evidence/seal.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { dayHashes } from '../../src/web/routes/export-hash.js';
import { BIN, dayCounters, sendUdp, startDaemon, stopDaemon, tempDir, testEnv, waitFor } from '../helpers/daemon.js';
import { mappings, mikrotikLine } from '../helpers/gen.js';

const line = (day: string, i: number) => ({ end: i, payload: Buffer.from(`line ${i} of ${day}`), device: 'udp', time: Date.parse(`${day}T01:00:00Z`) + i, status: 'unparsed' as const, vendor: null, reason: null, records: [] });

function setup(extra: Record<string, string> = {}) {
  const dir = tempDir();
  const cfg = loadConfig({ env: { MEGALOG_COLD_STORAGE_DIR: join(dir, 'cold'), MEGALOG_HOT_STORAGE_DIR: join(dir, 'hot'), MEGALOG_USERS_DB_PATH: join(dir, 'users.db'), ...extra } });
  const store = new SqliteStore(cfg);
  const logs: string[] = [];
  const sealer = new Sealer(cfg, store, new Stats(), (_l, m) => logs.push(m));
  return { dir, cfg, store, sealer, logs };
}

const verify = (dir: string) => {
  try {
    return { status: 0, out: execFileSync(process.execPath, [BIN, 'verify'], { env: testEnv(dir), encoding: 'utf8', stdio: 'pipe' }) };
  } catch (err) {
    const e = err as { status: number; stdout: string };
    return { status: e.status, out: e.stdout };
  }
};

describe('sealing', () => {
  it('seals a day only after its end + seal_grace_sec, read-only, out of WAL, hash in a chained manifest', async () => {
    const { cfg, store, sealer } = setup();
    const days = ['2026-11-20', '2026-11-21'];
    let pos = 0;
    for (const d of days) store.commitDay(d, [line(d, ++pos), line(d, ++pos)], pos);
    const end = dayStart(days[0]!) + DAY_MS;
    const grace = cfg.seal_grace_sec * 1000;
    expect(cfg.seal_grace_sec).toBe(7200);
    expect(sealer.due(end + grace - 1, Infinity, new Set())).toBeNull();
    expect(sealer.due(end + grace, end + grace - 1, new Set())).toBeNull(); // a message received before then is not committed
    expect(sealer.due(end + grace, Infinity, new Set([days[0]!]))).toBeNull(); // a batch for it is in flight
    expect(sealer.due(end + grace, Infinity, new Set())).toBe(days[0]);
    expect(await sealer.seal(days[0]!)).toBe('sealed');
    expect(sealer.due(end + DAY_MS + grace, Infinity, new Set())).toBe(days[1]);
    expect(await sealer.seal(days[1]!)).toBe('sealed');
    expect(sealer.due(end + 10 * DAY_MS, Infinity, new Set())).toBeNull();

    const m = readManifest(manifestPath(cfg.cold_storage_dir));
    expect(m.problems).toEqual([]);
    expect(m.entries.map((e) => [e.seq, e.event, 'day' in e && e.day])).toEqual([[1, 'seal', days[0]], [2, 'seal', days[1]]]);
    expect(m.entries[1]!.prev).toBe(m.entries[0]!.hash);
    for (const [i, d] of days.entries()) {
      const p = store.pathOf(d);
      const e = m.entries[i] as SealEntry;
      expect(e.sha256).toBe(await sha256File(p));
      expect(e.bytes).toBe(statSync(p).size);
      expect(e.lines).toBe(2);
      expect(statSync(p).mode & 0o777).toBe(0o440);
      expect(existsSync(`${p}-wal`) || existsSync(`${p}-shm`)).toBe(false);
      expect(readFileSync(p).readUInt8(18)).toBe(1); // file format write version 1: rollback journal, not WAL
    }
    store.close();
  });

  it('a late line for a sealed day reopens it (recorded on the chain), loses nothing, and is sealed again after the backed-off delay', async () => {
    const { cfg, store, sealer } = setup();
    const d = '2026-11-20';
    store.commitDay(d, [line(d, 1)], 1);
    expect(await sealer.seal(d)).toBe('sealed');
    const first = readManifest(manifestPath(cfg.cold_storage_dir)).entries[0] as SealEntry;

    sealer.admit(d, 2);
    store.commitDay(d, [line(d, 2), line(d, 3)], 3);
    expect(store.day(d).counters().lines).toBe(3);
    expect(statSync(store.pathOf(d)).mode & 0o200).toBe(0o200);
    let m = readManifest(manifestPath(cfg.cold_storage_dir));
    const reopen = m.entries[1]!;
    expect(reopen).toMatchObject({ event: 'reopen', day: d, reason: 'late_lines', lines: 2 });
    const reopenedAt = Date.parse((reopen as { at: string }).at);
    expect(sealer.due(reopenedAt + 3600_000 - 1000, Infinity, new Set())).toBeNull();
    expect(sealer.due(reopenedAt + 3600_000, Infinity, new Set())).toBe(d);
    expect(await sealer.seal(d)).toBe('sealed');
    m = readManifest(manifestPath(cfg.cold_storage_dir));
    expect(m.problems).toEqual([]);
    const second = m.entries[2] as SealEntry;
    expect(second).toMatchObject({ event: 'seal', day: d, lines: 3 });
    expect(second.sha256).not.toBe(first.sha256);

    // A second reopening of the same day doubles the delay.
    sealer.admit(d, 1);
    store.commitDay(d, [line(d, 4)], 4);
    const at2 = Date.parse((readManifest(manifestPath(cfg.cold_storage_dir)).entries[3] as { at: string }).at);
    expect(sealer.due(at2 + 3600_000, Infinity, new Set())).toBeNull();
    expect(sealer.due(at2 + 7200_000, Infinity, new Set())).toBe(d);
    store.close();
  });

  it('a commit for a day being hashed cancels that seal: no entry, file writable, nothing lost', async () => {
    const { cfg, store, sealer } = setup();
    const d = '2026-11-20';
    store.commitDay(d, [line(d, 1)], 1);
    const p = sealer.seal(d);
    sealer.admit(d, 1); // the committer thread runs while the hash streams
    store.commitDay(d, [line(d, 2)], 2);
    expect(await p).toBe('cancelled');
    expect(readManifest(manifestPath(cfg.cold_storage_dir)).entries).toEqual([]);
    expect(store.day(d).counters().lines).toBe(2);
    store.close();
  });

  it('after a crash between the manifest append and the chmod, the next start only makes the file read-only', async () => {
    const { cfg, store, sealer } = setup();
    const d = '2026-11-20';
    store.commitDay(d, [line(d, 1)], 1);
    await sealer.seal(d);
    sealer.stop();
    chmodSync(store.pathOf(d), 0o644); // as if the process died before the chmod
    const again = new Sealer(cfg, store, new Stats(), () => {});
    expect(again.due(Date.now(), Infinity, new Set())).toBe(d);
    expect(await again.seal(d)).toBe('confirmed');
    expect(statSync(store.pathOf(d)).mode & 0o777).toBe(0o440);
    expect(readManifest(manifestPath(cfg.cold_storage_dir)).entries.map((e) => e.event)).toEqual(['seal']);
    again.stop();
    store.close();
  });

  it('a file changed while writable under a seal entry is recorded as such on the chain before it is sealed again', async () => {
    const { cfg, store, sealer } = setup();
    const d = '2026-11-20';
    store.commitDay(d, [line(d, 1)], 1);
    await sealer.seal(d);
    sealer.stop();
    chmodSync(store.pathOf(d), 0o644);
    appendFileSync(store.pathOf(d), Buffer.alloc(4096)); // a change that went around the reopen protocol
    const again = new Sealer(cfg, store, new Stats(), () => {});
    expect(await again.seal(d)).toBe('sealed');
    const m = readManifest(manifestPath(cfg.cold_storage_dir));
    expect(m.entries.map((e) => [e.event, (e as { reason?: string }).reason])).toEqual([['seal', undefined], ['reopen', 'changed_unsealed'], ['seal', undefined]]);
    again.stop();
    store.close();
  });

  it('a torn last manifest line is reported by verify, then cut, kept and recorded by the next writer', async () => {
    const { dir, cfg, store, sealer } = setup();
    const d = '2026-11-20';
    store.commitDay(d, [line(d, 1)], 1);
    await sealer.seal(d);
    sealer.stop();
    store.close();
    const mp = manifestPath(cfg.cold_storage_dir);
    appendFileSync(mp, '{"seq":2,"event":"seal","day":"2026-11-21","sha2');
    const v = verify(dir);
    expect(v.status).toBe(1);
    expect(v.out).toMatch(/manifest: PROBLEM the last \d+ bytes are not a whole entry/);
    const w = new ManifestWriter(mp);
    expect(w.repaired).toMatch(/seals\.jsonl\.torn-\d+$/);
    w.close();
    const m = readManifest(mp);
    expect(m.problems).toEqual([]);
    expect(m.torn).toBeNull();
    expect(m.entries.map((e) => e.event)).toEqual(['seal', 'repair']);
    const v2 = verify(dir);
    expect(v2.out).toMatch(/note: entry 2 records \d+ torn bytes/);
    expect(v2.status).toBe(0);
  });
});

describe('megalog verify and the seal manifest', () => {
  async function sealedStore() {
    const s = setup();
    const days = ['2026-11-18', '2026-11-19', '2026-11-20'];
    let pos = 0;
    for (const d of days) store(s, d, ++pos);
    for (const d of days) expect(await s.sealer.seal(d)).toBe('sealed');
    s.sealer.stop();
    s.store.close();
    return { ...s, days, mp: manifestPath(s.cfg.cold_storage_dir) };
  }
  const store = (s: ReturnType<typeof setup>, d: string, pos: number) => s.store.commitDay(d, [line(d, pos)], pos);

  it('passes an intact store and prints the chain head', async () => {
    const { dir, days } = await sealedStore();
    const v = verify(dir);
    expect(v.status).toBe(0);
    expect(v.out).toMatch(/manifest: 3 entries, head [0-9a-f]{64} \(chain intact\)/);
    for (const d of days) expect(v.out).toMatch(new RegExp(`${d}: ok \\(0 records\\); sealed on .* sha256 and size match`));
  });

  it('catches a sealed file edited on disk', async () => {
    const { dir, days, store: st } = await sealedStore();
    const p = st.pathOf(days[1]!);
    chmodSync(p, 0o644);
    const buf = readFileSync(p);
    buf[buf.length - 100] ^= 0xff; // an unused byte of the last page: SQLite still reads the file fine
    writeFileSync(p, buf);
    chmodSync(p, 0o444);
    const v = verify(dir);
    expect(v.status).toBe(1);
    expect(v.out).toMatch(new RegExp(`${days[1]}: PROBLEM does not match its seal`));
  });

  it('catches an edited entry, a removed entry and reordered entries', async () => {
    const { dir, mp } = await sealedStore();
    const orig = readFileSync(mp, 'utf8');
    const lines = orig.trimEnd().split('\n');

    writeFileSync(mp, orig.replace(/"bytes":(\d+)/, (_m, n) => `"bytes":${Number(n) + 1}`));
    let v = verify(dir);
    expect(v.status).toBe(1);
    expect(v.out).toMatch(/line 1 \(seq 1, seal 2026-11-18\): hash does not match its content/);

    writeFileSync(mp, [lines[0], lines[2]].join('\n') + '\n');
    v = verify(dir);
    expect(v.status).toBe(1);
    expect(v.out).toMatch(/line 2 \(seq 3\): prev does not match/);
    expect(v.out).toMatch(/2026-11-19: PROBLEM read-only on disk \(sealed\?\) but absent from the seal manifest/);

    writeFileSync(mp, [lines[1], lines[0], lines[2]].join('\n') + '\n');
    v = verify(dir);
    expect(v.status).toBe(1);
    expect(v.out).toMatch(/prev does not match/);
  });

  it('tells a day removed by retention (fine) from a sealed file gone otherwise (problem)', async () => {
    const s = await sealedStore();
    const store = new SqliteStore(s.cfg);
    const sealer = new Sealer(s.cfg, store, new Stats(), () => {});
    const removed = store.applyRetention(365, Date.UTC(2027, 10, 19, 12)); // read-only files go too
    expect(removed).toEqual(['2026-11-18']);
    sealer.removed(removed);
    sealer.stop();
    store.close();
    const { rmSync } = await import('node:fs');
    rmSync(store.pathOf('2026-11-20'));
    const v = verify(s.dir);
    expect(v.out).toMatch(/2026-11-18: ok, removed by retention on /);
    expect(v.out).toMatch(/2026-11-20: PROBLEM the file is missing/);
    expect(v.status).toBe(1);
  });
});

describe('backup and restore of sealed days', () => {
  it('copies sealed files byte for byte with the seal manifest; a restore is read-only again and verifies', async () => {
    const s = setup();
    const days = ['2026-11-19', '2026-11-20'];
    s.store.commitDay(days[0]!, [line(days[0]!, 1)], 1);
    s.store.commitDay(days[1]!, [line(days[1]!, 2)], 2);
    expect(await s.sealer.seal(days[0]!)).toBe('sealed');
    s.sealer.stop();
    s.store.close();
    const bak = join(tempDir(), 'bak');
    const cli = (...args: string[]) => execFileSync(process.execPath, [BIN, ...args], { env: testEnv(s.dir), encoding: 'utf8', stdio: 'pipe' });
    cli('backup', bak);
    const files = JSON.parse(readFileSync(join(bak, 'MANIFEST.json'), 'utf8')).files as { file: string; sha256: string }[];
    const seal = readManifest(manifestPath(s.cfg.cold_storage_dir)).entries[0] as SealEntry;
    expect(files.find((f) => f.file === `${days[0]}.db`)!.sha256).toBe(seal.sha256);
    expect(files.find((f) => f.file === 'seals.jsonl')).toBeTruthy();
    const { rmSync } = await import('node:fs');
    rmSync(s.cfg.cold_storage_dir, { recursive: true });
    expect(cli('restore', bak)).toMatch(/restored/);
    expect(statSync(s.store.pathOf(days[0]!)).mode & 0o777).toBe(0o440);
    expect(statSync(s.store.pathOf(days[1]!)).mode & 0o200).toBe(0o200);
    const v = verify(s.dir);
    expect(v.status).toBe(0);
    expect(v.out).toMatch(new RegExp(`${days[0]}: ok .*sha256 and size match`));
  });
});

describe('court report hashes', () => {
  it('takes a sealed file\'s hash from the manifest (size and mode match) and does not hash an open day', async () => {
    const { cfg, store, sealer } = setup();
    const sealedDay = '2026-11-20';
    const today = new Date().toISOString().slice(0, 10);
    store.commitDay(sealedDay, [line(sealedDay, 1)], 1);
    store.commitDay(today, [line(today, 2)], 2);
    await sealer.seal(sealedDay);
    const [s, o] = await dayHashes([sealedDay, today].map((day) => ({ day, path: store.pathOf(day) })), cfg.cold_storage_dir, cfg);
    const entry = readManifest(manifestPath(cfg.cold_storage_dir)).entries[0] as SealEntry;
    expect(s).toMatchObject({ day: sealedDay, sealed: true, sha256: entry.sha256, source: 'manifest', sealed_at: entry.sealed_at, bytes: entry.bytes });
    expect(o).toMatchObject({ day: today, sealed: false, sha256: null, source: null });
    expect(o!.seal_after).toBe(new Date(dayStart(today) + DAY_MS + cfg.seal_grace_sec * 1000).toISOString());

    // A file whose size no longer matches its entry is hashed afresh and flagged, never given the manifest's hash.
    chmodSync(store.pathOf(sealedDay), 0o644);
    appendFileSync(store.pathOf(sealedDay), Buffer.alloc(10));
    chmodSync(store.pathOf(sealedDay), 0o444);
    const [x] = await dayHashes([{ day: sealedDay, path: store.pathOf(sealedDay) }], cfg.cold_storage_dir, cfg);
    expect(x!.source).toBe('file');
    expect(x!.sha256).toBe(await sha256File(store.pathOf(sealedDay)));
    expect(x!.error).toBe('seal_mismatch');
    sealer.stop();
    store.close();
  });
});

describe('sealing in the running processor', () => {
  it('seals a past day at start-up; a late record reopens it, is committed, and the day is sealed again', async () => {
    const dir = tempDir();
    const env = { MEGALOG_SEAL_GRACE_SEC: '0', MEGALOG_SEAL_REOPEN_DELAY_SEC: '0' };
    const start = dayStart(new Date(Date.now() - 3 * DAY_MS).toISOString().slice(0, 10)) + 3600_000;
    const day = new Date(start).toISOString().slice(0, 10);
    const all = [...mappings(40, { start, stepMs: 1000, seed: 3 })].map((m) => mikrotikLine(m));
    const d = await startDaemon(dir, env);
    try {
      await sendUdp(d.udpPort, all.slice(0, 30));
      const mp = manifestPath(join(dir, 'cold'));
      const seals = () => readManifest(mp).entries.filter((e) => e.event === 'seal' && e.day === day) as SealEntry[];
      await waitFor('sealed', () => seals().length === 1, 30_000);
      expect(seals()[0]!.records).toBe(30);
      expect(statSync(join(dir, 'cold', `${day}.db`)).mode & 0o777).toBe(0o440);

      await sendUdp(d.udpPort, all.slice(30));
      await waitFor('sealed again', () => seals().length === 2, 30_000);
      const m = readManifest(mp);
      expect(m.problems).toEqual([]);
      expect(m.entries.find((e) => e.event === 'reopen')).toMatchObject({ day, reason: 'late_lines', lines: 10 });
      expect(seals()[1]!.records).toBe(40);
      const stats = () => JSON.parse(readFileSync(join(dir, 'hot', 'status.json'), 'utf8')).stats;
      await waitFor('stats', () => stats().days_sealed === 2);
      expect(stats()).toMatchObject({ days_sealed: 2, sealed_day_reopens: 1, sealed_day_lines: 10 });
    } finally {
      await stopDaemon(d);
    }
    expect(dayCounters(join(dir, 'cold', `${day}.db`)).nat_rows).toBe(40);
    const v = verify(dir);
    expect(v.out).toMatch(new RegExp(`${day}: ok \\(40 records\\); sealed on`));
    expect(v.status).toBe(0);
  });
});
