// The one CSV writer (RFC 4180, CRLF). Every cell is quoted, and a cell that a spreadsheet would run
// as a formula (starting with = + - @, tab or CR) gets an apostrophe first: a log line is
// attacker-controlled text (OWASP "CSV Injection").

/** One cell: quoted, quotes doubled, formula triggers neutralised. */
export function csvCell(v: unknown): string {
  let s = v == null ? '' : String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return `"${s.replace(/"/g, '""')}"`;
}

/** One line of cells, CRLF-terminated. */
export function csvRow(cells: unknown[]): string {
  return `${cells.map(csvCell).join(',')}\r\n`;
}
