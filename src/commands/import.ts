// `megalog import FILE…`: bulk-load raw log files (plain or gzip) through the same spool → parse →
// commit path as live traffic, so an import interrupted half-way resumes without duplicates when run
// again on the spool it left. Year-less lines are anchored on the file's modification time.
import { createReadStream, openSync, readSync, closeSync, statSync } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { join } from 'node:path';
import type { Config } from '../config/load.js';
import { acquireLock, type DirLock } from '../core/lock.js';
import type { Log } from '../core/log.js';
import { SpoolWriter } from '../spool/writer.js';
import { Stats } from '../core/counters.js';
import { Committer } from '../commit/committer.js';

export async function runImport(cfg: Config, files: string[], log: Log): Promise<number> {
  if (!files.length) {
    console.error('megalog import: name at least one file');
    return 64;
  }
  for (const f of files) {
    try {
      if (!statSync(f).isFile()) throw new Error('not a regular file');
    } catch (err) {
      console.error(`megalog import: ${f}: ${(err as Error).message}`);
      return 66; // EX_NOINPUT
    }
  }
  let lock: DirLock;
  try {
    lock = acquireLock({ hot: cfg.hot_storage_dir, cold: cfg.cold_storage_dir }, 'import');
  } catch (err) {
    console.error(`megalog import: ${(err as Error).message}`);
    return 75; // EX_TEMPFAIL
  }
  const stats = new Stats();
  const committer = new Committer(cfg, stats, log);
  const writer = new SpoolWriter({ dir: join(cfg.hot_storage_dir, 'spool'), segmentBytes: cfg.spool_segment_bytes, fsync: 'never', fsyncIntervalMs: 1000, floor: committer.floor() });
  stats.set('spool_end', writer.end);
  const tty = process.stderr.isTTY;
  const total = files.reduce((n, f) => n + statSync(f).size, 0);
  let doneBytes = 0;
  let lines = 0;
  const t0 = Date.now();
  let lastDraw = 0;
  const draw = (final = false) => {
    const now = Date.now();
    if (!tty || (!final && now - lastDraw < 200)) return;
    lastDraw = now;
    const pct = total ? Math.min(100, (doneBytes / total) * 100) : 100;
    const rate = lines / Math.max(0.001, (now - t0) / 1000);
    process.stderr.write(`\r${pct.toFixed(1).padStart(5)}%  ${lines} lines  ${Math.round(rate)} lines/s  ${stats.get('records_committed')} records   `);
    if (final) process.stderr.write('\n');
  };
  try {
    for (const file of files) {
      const anchor = statSync(file).mtimeMs;
      const src = createReadStream(file);
      src.on('data', (c) => (doneBytes += c.length)); // progress in file bytes, compressed or not
      const input = isGzip(file) ? src.pipe(createGunzip()) : src;
      let rest: Buffer = Buffer.alloc(0);
      for await (const chunk of input as AsyncIterable<Buffer>) {
        const buf = rest.length ? Buffer.concat([rest, chunk]) : chunk;
        let at = 0;
        for (;;) {
          const lf = buf.indexOf(0x0a, at);
          if (lf < 0) break;
          let end = lf;
          if (end > at && buf[end - 1] === 0x0d) end--;
          if (end > at) {
            writer.append(anchor, 'import', 'import', buf.subarray(at, Math.min(end, at + cfg.tcp_max_frame_bytes)));
            lines++;
          }
          at = lf + 1;
        }
        rest = Buffer.from(buf.subarray(at));
        if (writer.buffered > 4 << 20) pump(writer, stats, committer);
        draw();
      }
      if (rest.length) {
        writer.append(anchor, 'import', 'import', rest.subarray(0, cfg.tcp_max_frame_bytes));
        lines++;
      }
      pump(writer, stats, committer);
    }
    writer.flush();
    writer.sync();
    stats.set('spool_end', writer.end);
    committer.drain();
    draw(true);
  } catch (err) {
    console.error(`megalog import: ${(err as Error).message}`);
    return 1;
  } finally {
    writer.close();
    committer.close();
    lock.release();
  }
  const s = stats.snapshot();
  console.error(`imported ${lines} lines: ${s.records_committed} records, ${s.lines_ignored} ignored, ${s.lines_unparsed} unparsed`);
  return stats.get('cold_full') ? 1 : 0;
}

function pump(writer: SpoolWriter, stats: Stats, committer: Committer): void {
  writer.flush();
  stats.set('spool_end', writer.end);
  while (committer.step(Date.now(), true)) {
    /* commit what is spooled */
  }
}

function isGzip(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const b = Buffer.alloc(2);
    return readSync(fd, b, 0, 2, 0) === 2 && b[0] === 0x1f && b[1] === 0x8b;
  } finally {
    closeSync(fd);
  }
}
