// `<cold>/imports.jsonl`: one line per file imported to the end, by its SHA-256, written by
// `megalog import` and by the processor's import jobs alike, so that a file is not imported twice
// by mistake (it would double its records).
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const IMPORT_LEDGER = 'imports.jsonl';

export interface ImportRecord {
  sha256: string;
  /** The file's name when it was imported (no folder). */
  file: string;
  bytes: number;
  lines: number;
  at: string;
}

/** Every recorded import, by SHA-256 (a torn last line is an import that was not recorded). */
export function readImportLedger(coldDir: string): Map<string, ImportRecord> {
  const out = new Map<string, ImportRecord>();
  let text = '';
  try {
    text = readFileSync(join(coldDir, IMPORT_LEDGER), 'utf8');
  } catch {
    return out;
  }
  for (const line of text.split('\n')) {
    try {
      const r = JSON.parse(line) as ImportRecord;
      if (typeof r.sha256 === 'string') out.set(r.sha256, r);
    } catch {
      /* a torn last line: that import was not recorded */
    }
  }
  return out;
}

/** Record a file imported to the end. */
export function recordImport(coldDir: string, r: ImportRecord): void {
  appendFileSync(join(coldDir, IMPORT_LEDGER), `${JSON.stringify(r)}\n`, { mode: 0o640 });
}
