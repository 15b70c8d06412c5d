// The court report as a PDF: the same page the console shows, printed by Debian's chromium
// (`/usr/bin/chromium --headless --print-to-pdf`) from a private temporary folder. One PDF at a
// time (a court report can be large); a run that takes longer than PDF_TIMEOUT_MS is killed.
// chromium is a recommended package, not a dependency: without it the console says so and the
// printable page is still there.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STATIC_DIR } from './paths.js';

export const CHROMIUM = process.env.MEGALOG_CHROMIUM || '/usr/bin/chromium';
const PDF_TIMEOUT_MS = 120_000;

/**
 * Headless, and quiet on a closed network: without the background-networking flags chromium keeps
 * trying to reach its update and sync services. (The tests' browser starts with the same flags.)
 */
export const CHROMIUM_FLAGS = [
  '--headless',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
] as const;

let busy: Promise<unknown> = Promise.resolve();

export function pdfAvailable(): boolean {
  return existsSync(CHROMIUM);
}

/**
 * Print `html` (a whole page of the console) to PDF. The stylesheet is put inline and scripts are
 * taken out: the page is read from a file, with no network and no console session.
 */
export function htmlToPdf(html: string): Promise<Buffer> {
  const run = busy.then(() => print(html));
  busy = run.catch(() => undefined);
  return run;
}

async function print(html: string): Promise<Buffer> {
  const dir = mkdtempSync(join(tmpdir(), 'megalog-pdf-'));
  try {
    const css = readFileSync(join(STATIC_DIR, 'megalog.css'), 'utf8');
    const page = html
      .replace(/<script\b[^>]*><\/script>/g, '')
      .replace(/<link rel="stylesheet" href="\/static\/megalog\.css">/, () => `<style>${css.replace(/<\/style/gi, '')}</style>`);
    const src = join(dir, 'report.html');
    const out = join(dir, 'report.pdf');
    writeFileSync(src, page, { mode: 0o600 });
    const args = [
      ...CHROMIUM_FLAGS,
      '--disable-extensions',
      `--user-data-dir=${join(dir, 'profile')}`,
      '--no-pdf-header-footer',
      `--print-to-pdf=${out}`,
      `file://${src}`,
    ];
    // chromium refuses to run as root with its sandbox; the service user keeps it.
    if (process.getuid?.() === 0) args.unshift('--no-sandbox');
    await new Promise<void>((resolve, reject) => {
      execFile(CHROMIUM, args, { timeout: PDF_TIMEOUT_MS, maxBuffer: 1 << 20 }, (err) => (err && !existsSync(out) ? reject(err) : resolve()));
    });
    const pdf = readFileSync(out);
    if (!pdf.subarray(0, 5).equals(Buffer.from('%PDF-'))) throw new Error('chromium wrote no PDF');
    return pdf;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
