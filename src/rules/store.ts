// Deterministic NAT rule sets, versioned: `<cold>/rules.db`. A rule set is imported once and never
// changed; it holds its source file (gzip) and that file's SHA-256, who imported it, under which case
// or change reference, and the period it was in force [valid_from, valid_to). The rules in force at T
// answer for T: of the sets valid at T that map the public address, the one in force last (latest
// valid_from) — never today's rules for last year's question.
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { ensureMode, MODE } from '../core/fs.js';
import type { RuleFormat, RuleRow } from './parse.js';

const DDL = `
CREATE TABLE IF NOT EXISTS ruleset (
  id INTEGER PRIMARY KEY,
  imported_at INTEGER NOT NULL,
  imported_by TEXT NOT NULL,
  case_ref TEXT NOT NULL,
  format TEXT NOT NULL,
  file_name TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  valid_from INTEGER NOT NULL,
  valid_to INTEGER,
  mappings INTEGER NOT NULL,
  source BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS rule (
  set_id INTEGER NOT NULL,
  nat_ip INTEGER NOT NULL,
  port_lo INTEGER NOT NULL,
  port_hi INTEGER NOT NULL,
  proto INTEGER NOT NULL,
  inside INTEGER NOT NULL,
  line INTEGER NOT NULL,
  PRIMARY KEY (nat_ip, port_lo, set_id, proto)
) WITHOUT ROWID;
`;

export interface RuleSet {
  id: number;
  imported_at: number;
  imported_by: string;
  case_ref: string;
  format: RuleFormat;
  file_name: string;
  sha256: string;
  valid_from: number;
  valid_to: number | null;
  mappings: number;
}

/** A mapping that answers for a public address and port, with the rule set and line it comes from. */
export interface RuleHit {
  set: RuleSet;
  inside: number;
  portLo: number;
  portHi: number;
  proto: number;
  line: number;
  /** The source line itself (the evidence), at most 1,000 characters. */
  text: string;
}

export class RulesDb {
  readonly db: Database.Database;
  private readonly sources = new Map<number, string[]>();

  private constructor(path: string, readonly: boolean) {
    if (!readonly) {
      mkdirSync(dirname(path), { recursive: true });
      ensureMode(path, MODE.data);
    }
    this.db = new Database(path, { readonly, fileMustExist: readonly });
    if (!readonly) this.db.exec(DDL);
  }

  static pathIn(coldDir: string): string {
    return join(coldDir, 'rules.db');
  }

  /** For writing (import); creates the file. */
  static open(coldDir: string): RulesDb {
    return new RulesDb(RulesDb.pathIn(coldDir), false);
  }

  /** For reading, or null when no rule set was ever imported. */
  static read(coldDir: string): RulesDb | null {
    const path = RulesDb.pathIn(coldDir);
    return existsSync(path) ? new RulesDb(path, true) : null;
  }

  add(meta: Omit<RuleSet, 'id' | 'mappings' | 'sha256'>, source: Buffer, rows: readonly RuleRow[]): RuleSet {
    const sha256 = createHash('sha256').update(source).digest('hex');
    const ins = this.db.prepare('INSERT INTO rule VALUES (?, ?, ?, ?, ?, ?, ?)');
    const id = this.db.transaction(() => {
      const id = Number(
        this.db
          .prepare('INSERT INTO ruleset (imported_at, imported_by, case_ref, format, file_name, sha256, valid_from, valid_to, mappings, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
          .run(meta.imported_at, meta.imported_by, meta.case_ref, meta.format, meta.file_name, sha256, meta.valid_from, meta.valid_to, rows.length, gzipSync(source)).lastInsertRowid,
      );
      for (const r of rows) ins.run(id, r.natIp, r.portLo, r.portHi, r.proto, r.inside, r.line);
      return id;
    })();
    return this.set(id)!;
  }

  sets(): RuleSet[] {
    return this.db.prepare('SELECT id, imported_at, imported_by, case_ref, format, file_name, sha256, valid_from, valid_to, mappings FROM ruleset ORDER BY valid_from, id').all() as RuleSet[];
  }

  set(id: number): RuleSet | undefined {
    return this.db.prepare('SELECT id, imported_at, imported_by, case_ref, format, file_name, sha256, valid_from, valid_to, mappings FROM ruleset WHERE id = ?').get(id) as RuleSet | undefined;
  }

  /** The source file of a rule set, as imported. */
  source(id: number): Buffer {
    return gunzipSync(this.db.prepare('SELECT source FROM ruleset WHERE id = ?').pluck().get(id) as Buffer);
  }

  /**
   * The mappings in force at `atMs` for natIp:port (proto: 6, 17, or null for either): those of the
   * set valid at atMs with the latest valid_from that maps this address at all.
   */
  lookup(natIp: number, port: number, atMs: number, proto: number | null): RuleHit[] {
    const rows = this.db
      .prepare(
        `SELECT r.set_id, r.inside, r.port_lo, r.port_hi, r.proto, r.line, s.valid_from FROM rule r JOIN ruleset s ON s.id = r.set_id
         WHERE r.nat_ip = ? AND r.port_lo <= ? AND r.port_hi >= ? AND s.valid_from <= ? AND (s.valid_to IS NULL OR s.valid_to > ?)`,
      )
      .all(natIp, port, port, atMs, atMs) as { set_id: number; inside: number; port_lo: number; port_hi: number; proto: number; line: number; valid_from: number }[];
    const fits = rows.filter((r) => proto === null || r.proto === 0 || r.proto === proto);
    if (!fits.length) return [];
    const latest = Math.max(...fits.map((r) => r.valid_from));
    return fits
      .filter((r) => r.valid_from === latest)
      .map((r) => ({ set: this.set(r.set_id)!, inside: r.inside, portLo: r.port_lo, portHi: r.port_hi, proto: r.proto, line: r.line, text: this.lineOf(r.set_id, r.line) }));
  }

  private lineOf(setId: number, line: number): string {
    let lines = this.sources.get(setId);
    if (!lines) {
      if (this.sources.size >= 4) this.sources.clear(); // bounded: a few sources of a few MB at most
      lines = this.source(setId).toString('utf8').split(/\r?\n/);
      this.sources.set(setId, lines);
    }
    // A RouterOS rule wrapped over several lines: its first line and the continuations.
    let text = lines[line - 1] ?? '';
    for (let i = line; text.endsWith('\\') && i < lines.length && text.length < 1000; i++) text = text.slice(0, -1) + lines[i]!.trimStart();
    return text.slice(0, 1000);
  }

  close(): void {
    this.db.close();
  }
}
