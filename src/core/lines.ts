// Raw log files are LF-separated lines (rsyslog's hot_logs.raw): one splitter for every reader of
// such a file (`megalog import`, the processor's import jobs).

/**
 * Hand each whole line of `rest + chunk` to `onLine` (a CR before the LF is dropped, empty lines
 * skipped) and return what follows the last LF: the start of a line still to come.
 */
export function eachLine(rest: Buffer, chunk: Buffer, onLine: (line: Buffer) => void): Buffer {
  const buf = rest.length ? Buffer.concat([rest, chunk]) : chunk;
  let at = 0;
  for (;;) {
    const lf = buf.indexOf(0x0a, at);
    if (lf < 0) break;
    let end = lf;
    if (end > at && buf[end - 1] === 0x0d) end--;
    if (end > at) onLine(buf.subarray(at, end));
    at = lf + 1;
  }
  return Buffer.from(buf.subarray(at));
}
