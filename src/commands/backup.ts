// `megalog backup DEST` / `megalog restore SRC`.
//
// Backup copies every day file and users.db with SQLite's online backup API (consistent while the
// processor keeps writing), except sealed day files, copied byte for byte so that the copy keeps the
// SHA-256 of its seal; it carries the seal manifest (seals.jsonl) too. Then it writes
// DEST/MANIFEST.json: each file's size and SHA-256. Day files
// whose size and modification time match the previous manifest are not copied again, so a nightly
// backup of a year of evidence only copies what changed. Restore checks every SHA-256 first, refuses
// to run while a processor owns the hot or cold directory, and never overwrites an existing file unless --force;
// a restored day file that matches its seal entry is made read-only again.
import Database from 'better-sqlite3';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Config } from '../config/load.js';
import { MODE } from '../core/fs.js';
import { acquireLock, type DirLock } from '../core/lock.js';
import { DAY_FILE_RE } from '../store/codes.js';
import { sha256File } from '../core/hash.js';
import { MANIFEST_FILE, latestByDay, manifestPath, readManifest as readSealManifest } from '../evidence/manifest.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';

interface ManifestEntry {
  file: string;
  bytes: number;
  sha256: string;
  source_mtime_ms: number;
}

interface Manifest {
  format: 'megalog-backup-1';
  created: string;
  files: ManifestEntry[];
}

function readManifest(dir: string): Manifest | null {
  try {
    const m = JSON.parse(readFileSync(join(dir, 'MANIFEST.json'), 'utf8')) as Manifest;
    return m.format === 'megalog-backup-1' && Array.isArray(m.files) ? m : null;
  } catch {
    return null;
  }
}

async function copyDb(src: string, dest: string, mode: number): Promise<void> {
  const db = new Database(src, { readonly: true, fileMustExist: true });
  try {
    const tmp = `${dest}.partial`;
    await db.backup(tmp);
    chmodSync(tmp, mode);
    renameSync(tmp, dest);
  } finally {
    db.close();
  }
}

/** Byte-for-byte copy through a temporary name (a sealed file keeps its hash). */
function copyFile(src: string, dest: string): void {
  const tmp = `${dest}.partial`;
  copyFileSync(src, tmp);
  chmodSync(tmp, MODE.data); // the copy of a read-only file stays replaceable by the next backup
  renameSync(tmp, dest);
}

export async function runBackup(cfg: Config, dest: string | undefined): Promise<number> {
  if (!dest) {
    console.error('megalog backup: name a destination directory');
    return 64;
  }
  mkdirSync(dest, { recursive: true });
  const previous = new Map((readManifest(dest)?.files ?? []).map((f) => [f.file, f]));
  const store = new SqliteStore(cfg);
  const seals = latestByDay(readSealManifest(manifestPath(cfg.cold_storage_dir)).entries);
  const sources = store.listDayNames().map((d) => ({ file: `${d}.db`, path: store.pathOf(d), day: d as string | null }));
  if (existsSync(cfg.users_db_path)) sources.push({ file: 'users.db', path: cfg.users_db_path, day: null });
  const files: ManifestEntry[] = [];
  let copied = 0;
  for (const s of sources) {
    const st = statSync(s.path);
    // Opening a copy reader touches the -wal file's time but not its size: compare sizes there.
    const walBytes = existsSync(`${s.path}-wal`) ? statSync(`${s.path}-wal`).size : 0;
    const mtime = st.mtimeMs + walBytes;
    const prev = previous.get(s.file);
    const target = join(dest, s.file);
    if (prev && prev.source_mtime_ms === mtime && existsSync(target) && statSync(target).size === prev.bytes) {
      files.push(prev);
      continue;
    }
    const seal = s.day ? seals.get(s.day) : undefined;
    const sealed = seal?.event === 'seal' && (st.mode & 0o222) === 0 && st.size === seal.bytes;
    if (sealed) copyFile(s.path, target);
    else await copyDb(s.path, target, s.file === 'users.db' ? MODE.secret : MODE.data);
    const sha256 = await sha256File(target);
    if (sealed && sha256 !== seal.sha256) console.error(`backup: ${s.file} does not match its seal (run megalog verify); copied as it is`);
    files.push({ file: s.file, bytes: statSync(target).size, sha256, source_mtime_ms: mtime });
    copied++;
  }
  // The seal manifest: small, copied every time (it only grows), byte for byte.
  const mpath = manifestPath(cfg.cold_storage_dir);
  if (existsSync(mpath)) {
    const target = join(dest, MANIFEST_FILE);
    copyFile(mpath, target);
    files.push({ file: MANIFEST_FILE, bytes: statSync(target).size, sha256: await sha256File(target), source_mtime_ms: statSync(mpath).mtimeMs });
  }
  const manifest: Manifest = { format: 'megalog-backup-1', created: new Date().toISOString(), files };
  writeFileSync(join(dest, 'MANIFEST.json.tmp'), JSON.stringify(manifest, null, 1));
  renameSync(join(dest, 'MANIFEST.json.tmp'), join(dest, 'MANIFEST.json'));
  console.log(`backup: ${files.length} files in ${dest} (${copied} copied, ${files.length - copied} unchanged)`);
  return 0;
}

export async function runRestore(cfg: Config, src: string | undefined, force: boolean): Promise<number> {
  if (!src) {
    console.error('megalog restore: name a backup directory');
    return 64;
  }
  const m = readManifest(src);
  if (!m) {
    console.error(`megalog restore: ${src} has no valid MANIFEST.json`);
    return 65;
  }
  // Only names a backup can legitimately hold: day files and users.db, never a path.
  const bad = m.files.filter((f) => f.file !== 'users.db' && f.file !== MANIFEST_FILE && !DAY_FILE_RE.test(f.file));
  if (bad.length) {
    console.error(`megalog restore: manifest names unexpected files: ${bad.map((f) => JSON.stringify(f.file)).join(', ')}`);
    return 65;
  }
  for (const f of m.files) {
    const p = join(src, f.file);
    if (!existsSync(p) || (await sha256File(p)) !== f.sha256) {
      console.error(`megalog restore: ${f.file} is missing or does not match its SHA-256: nothing restored`);
      return 65;
    }
  }
  let lock: DirLock;
  try {
    lock = acquireLock({ hot: cfg.hot_storage_dir, cold: cfg.cold_storage_dir }, 'restore');
  } catch (err) {
    console.error(`megalog restore: ${(err as Error).message}`);
    return 75;
  }
  try {
    mkdirSync(cfg.cold_storage_dir, { recursive: true });
    let restored = 0;
    let kept = 0;
    const restoredFiles: { file: string; target: string; sha256: string }[] = [];
    for (const f of m.files) {
      const target = f.file === 'users.db' ? cfg.users_db_path : join(cfg.cold_storage_dir, basename(f.file));
      restoredFiles.push({ file: f.file, target, sha256: f.sha256 });
      if (existsSync(target) && !force) {
        kept++;
        restoredFiles.pop();
        continue;
      }
      mkdirSync(dirname(target), { recursive: true });
      for (const ext of ['-wal', '-shm']) if (existsSync(target + ext)) renameSync(target + ext, `${target}${ext}.before-restore`);
      copyFileSync(join(src, f.file), `${target}.restoring`);
      chmodSync(`${target}.restoring`, f.file === 'users.db' ? MODE.secret : MODE.data);
      renameSync(`${target}.restoring`, target);
      restored++;
    }
    // Restored day files that match their seal entry are sealed again (read-only).
    const seals = latestByDay(readSealManifest(manifestPath(cfg.cold_storage_dir)).entries);
    for (const f of restoredFiles) {
      const day = DAY_FILE_RE.exec(f.file)?.[1];
      const e = day ? seals.get(day) : undefined;
      if (e?.event === 'seal' && e.sha256 === f.sha256) chmodSync(f.target, MODE.sealed);
    }
    console.log(`restore: ${restored} files restored, ${kept} existing files kept${kept ? ' (use --force to overwrite)' : ''}`);
    return 0;
  } finally {
    lock.release();
  }
}
