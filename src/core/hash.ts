// SHA-256 of a file, streamed (day files are gigabytes): backups, restores and court reports.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

export async function sha256File(path: string, chunkBytes = 64 * 1024): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: chunkBytes })) h.update(chunk as Buffer);
  return h.digest('hex');
}
