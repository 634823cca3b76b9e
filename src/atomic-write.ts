/**
 * Files written through a temporary name and a rename, so a reader never sees half of one: the
 * synchronous form also fsyncs before the rename (checkpoints and a run's own files, which a kill
 * must not leave half-written); the asynchronous one serves reports, tables and manifests.
 */
import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';

export async function writeFileAtomic(file: string, text: string): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, text);
  await rename(tmp, file);
}

/** Writes `path` from `chunks` through a temp file that is fsynced, then renamed. */
export function writeFileAtomicSync(path: string, chunks: Uint8Array[]): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try {
    for (const c of chunks) writeSync(fd, c);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}
