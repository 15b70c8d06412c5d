// The source layout is part of the design: `ls src/` reads as the pipeline, and a module imports only
// from its own folder or a folder of a lower layer, so a newcomer reading a stage never has to read a
// later one first (docs/architecture.md, "Source layout").
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '..', '..', 'src');

/**
 * Lower layers first. A folder may import its own files and any folder listed before it. The config
 * schema (keys, defaults, the Config type) comes before everything; loading and validating it uses core.
 */
const LAYERS = ['config/schema.ts', 'core', 'config', 'parse', 'spool', 'sources', 'store', 'rules', 'evidence', 'commit', 'query', 'users', 'daemon', 'web', 'commands', 'cli.ts'];

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

function top(abs: string): string {
  const rel = relative(SRC, abs);
  return LAYERS.includes(rel) ? rel : rel.split('/')[0]!;
}

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/(?:from\s*|import\(\s*|new URL\(\s*)'(\.{1,2}\/[^']+)'/g)) out.push(resolve(dirname(file), m[1]!));
  return out;
}

describe('source layout', () => {
  it('every top-level entry of src/ has a layer', () => {
    expect(readdirSync(SRC).filter((e) => !LAYERS.includes(e))).toEqual([]);
  });

  it('no module imports from a later layer', () => {
    const bad: string[] = [];
    for (const f of files(SRC)) {
      const from = LAYERS.indexOf(top(f));
      for (const target of imports(f)) {
        if (!target.startsWith(SRC)) continue;
        const to = LAYERS.indexOf(top(target.replace(/\.js$/, '.ts')));
        if (to > from) bad.push(`${relative(SRC, f)} → ${relative(SRC, target)}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('no file is called index.ts unless it is a registry', () => {
    const named = files(SRC).filter((f) => f.endsWith('/index.ts')).map((f) => relative(SRC, f));
    for (const f of named) expect(readFileSync(join(SRC, f), 'utf8'), f).toMatch(/registry/i);
  });
});
