/**
 * Locating the Free Spoken Digit Dataset (FSDD, CC BY-SA 4.0): option `fsddDir`, else env
 * MMGAP_FSDD, else $MMGAP_SHARED/data/fsdd or <repo>/../shared/data/fsdd, else the user cache (<XDG_CACHE_HOME or
 * ~/.cache>/mmgap/fsdd), downloading it there from the public repository when allowed.
 * Data is never written inside the repository.
 */
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { packageRoot } from '../../package.js';

/** The public source, pinned to the commit the project's copy comes from. */
export const FSDD_URL = 'https://github.com/Jakobovski/free-spoken-digit-dataset/raw/26eb9aa/recordings/';
/** The six speakers of that commit (6 x 10 digits x 50 takes = 3,000 clips). */
export const FSDD_SPEAKERS = ['george', 'jackson', 'lucas', 'nicolas', 'theo', 'yweweler'];
const EXPECTED = 3000;

/** The repository root (the package's folder; the working directory if it cannot be found). */
function repoRoot(): string {
  return packageRoot() ?? process.cwd();
}

/** The recordings folder inside `dir` (dir itself when it holds the wavs), or null. */
function recordingsIn(dir: string): string | null {
  for (const d of [join(dir, 'recordings'), dir]) {
    if (existsSync(d) && readdirSync(d).some((n) => n.endsWith('.wav'))) return d;
  }
  return null;
}

/** Where a download goes: outside the repository, in the user's cache. */
export function fsddCacheDir(): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'mmgap', 'fsdd');
}

/** Options of `locateFsdd`. */
export interface FsddLocation {
  fsddDir?: string;
  /** Download into the user cache when no local copy is found (default true). */
  download?: boolean;
  /** Override of FSDD_URL (tests serve a local copy). */
  fsddUrl?: string;
  /** Look in $MMGAP_SHARED/data/fsdd or ../shared/data/fsdd (default true; tests turn it off to exercise the download path). */
  searchShared?: boolean;
}

/** Returns the folder holding the FSDD wav files, downloading them if needed and allowed. */
export async function locateFsdd(opts: FsddLocation = {}): Promise<string> {
  const explicit = opts.fsddDir ?? process.env.MMGAP_FSDD;
  if (explicit) {
    const found = recordingsIn(resolve(explicit));
    if (found) return found;
    throw new Error(`FSDD not found in ${resolve(explicit)} (from ${opts.fsddDir ? 'option fsddDir' : 'MMGAP_FSDD'}): expected recordings/{digit}_{speaker}_{take}.wav`);
  }
  const sharedRoot = process.env.MMGAP_SHARED ?? join(repoRoot(), '..', 'shared');
  const shared = opts.searchShared === false ? null : recordingsIn(join(sharedRoot, 'data', 'fsdd'));
  if (shared) return shared;
  const cache = join(fsddCacheDir(), 'recordings');
  if (existsSync(cache) && readdirSync(cache).filter((n) => n.endsWith('.wav')).length === EXPECTED) return cache;
  const url = opts.fsddUrl ?? FSDD_URL;
  if (opts.download === false) throw fsddMissing(url, 'downloading is disabled');
  try {
    await downloadFsdd(url, cache);
  } catch (e) {
    throw fsddMissing(url, (e as Error).message);
  }
  return cache;
}

function fsddMissing(url: string, why: string): Error {
  return new Error(
    `FSDD recordings not found (set MMGAP_FSDD to a folder holding recordings/*.wav, or place them in ../shared/data/fsdd), and the download from ${url} failed: ${why}`,
  );
}

/** Fetches all 3,000 recordings (8 at a time) from `baseUrl` into `dest`, each written atomically; files already there are kept. */
export async function downloadFsdd(baseUrl: string, dest: string): Promise<void> {
  await mkdir(dest, { recursive: true });
  const names: string[] = [];
  for (let digit = 0; digit < 10; digit++) for (const s of FSDD_SPEAKERS) for (let take = 0; take < 50; take++) names.push(`${digit}_${s}_${take}.wav`);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < names.length) {
      const name = names[next++];
      const target = join(dest, name);
      if (existsSync(target)) continue;
      const res = await fetch(baseUrl + name);
      if (!res.ok) throw new Error(`GET ${baseUrl + name}: HTTP ${res.status}`);
      const tmp = `${target}.tmp-${process.pid}`;
      await writeFile(tmp, new Uint8Array(await res.arrayBuffer()));
      await rename(tmp, target);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

/** One FSDD clip, parsed from its file name. */
export interface FsddClip {
  id: string;
  digit: number;
  speaker: string;
  take: number;
  file: string;
}

/** Lists and parses `{digit}_{speaker}_{take}.wav`; other names are an error naming the file. */
export function listFsdd(dir: string): FsddClip[] {
  return readdirSync(dir)
    .filter((n) => n.endsWith('.wav'))
    .sort()
    .map((name) => {
      const m = /^(\d)_([a-z]+)_(\d+)\.wav$/.exec(name);
      if (!m) throw new Error(`${join(dir, name)}: not an FSDD file name ({digit}_{speaker}_{take}.wav)`);
      return { id: name.slice(0, -4), digit: Number(m[1]), speaker: m[2], take: Number(m[3]), file: join(dir, name) };
    });
}
