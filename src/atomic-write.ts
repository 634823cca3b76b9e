/** Writes a file through a temporary name and a rename, so a reader never sees half of it (reports, tables, extraction manifests). */
import { rename, writeFile } from 'node:fs/promises';

export async function writeFileAtomic(file: string, text: string): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, text);
  await rename(tmp, file);
}
