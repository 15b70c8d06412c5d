import Database from 'better-sqlite3';
import { deflateRawSync } from 'node:zlib';
import { Part } from '../../src/store/sqlite/part.js';
const db = new Database('/tmp/keep3m/2026-01-15.db', { readonly: true });
const rows = db.prepare('SELECT lvl, n, data FROM rec').all() as { lvl: number; n: number; data: Buffer }[];
let n = 0, bytes = 0, defl = 0; const w = new Array(9).fill(0); const kinds = new Array(9).fill(0).map(() => ({} as Record<string, number>));
for (const r of rows) {
  n += r.n; bytes += r.data.length;
  if (Math.random() < 0.1) defl += deflateRawSync(r.data, { level: 1 }).length * 10;
  const p = new Part(r.data) as unknown as { cols: { kind: number; w: number; mul: number; dict: unknown[] | null }[] };
  p.cols.forEach((c, i) => { w[i] += c.w * r.n; const k = `${c.kind}/${c.mul}`; kinds[i]![k] = (kinds[i]![k] ?? 0) + 1; });
}
console.log({ rows: rows.length, records: n, perRecord: (bytes / n).toFixed(2), deflated1: (defl / n).toFixed(2), avgRowsPerPart: (n / rows.length).toFixed(0) });
['port', 't', 'id', 'src', 'sport', 'dst', 'dport', 'code', 'device'].forEach((c, i) => console.log(c.padEnd(7), (w[i] / n).toFixed(2), JSON.stringify(kinds[i])));
console.log(db.prepare("SELECT name, sum(pgsize) AS b, sum(unused) AS u, count(*) AS pages FROM dbstat WHERE name IN ('rec','raw','src_seen') GROUP BY name").all());
