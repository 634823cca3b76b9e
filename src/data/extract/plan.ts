/**
 * Which clips to extract, with their label, split and time window: from the videos found under
 * `--from` (a folder, or a text file listing video paths) and, when given, the layout's own split
 * files (`--lists`). Every video or listed clip that cannot be planned becomes a failure with its
 * reason; videos that no given list mentions are counted as ignored (a list selects a subset).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, extname, join, relative, resolve, sep } from 'node:path';
import { Rng } from '../rng.js';
import type { Split } from '../types.js';
import { ksWindow, type Layout, type ListedClip } from './layouts.js';

/** The file extensions taken as videos when `--from` is a folder. */
export const VIDEO_EXTENSIONS = ['.mp4', '.flv', '.avi', '.mkv', '.webm', '.mov', '.m4v', '.mpg', '.mpeg', '.3gp', '.ogv', '.wmv'];

/** Bad input to the whole command (a missing --from, a malformed split file): one line naming the file. */
export class ExtractInputError extends Error {
  override name = 'ExtractInputError';
}

/** A video file found under --from. */
export interface SourceVideo {
  path: string;
  /** The file name without its extension. */
  id: string;
  /** The folder the video sits in, when it is a class folder (not --from itself). */
  classFolder: string | null;
}

/** One clip to extract. */
export interface ClipJob {
  id: string;
  video: string;
  label: string;
  split: Split | null;
  line: string | null;
  /** Seconds of the video to extract; null: all of it. */
  window: { start: number; end: number } | null;
}

/** A clip that cannot be extracted, for the failure CSV. */
export interface ClipFailure {
  id: string;
  video: string;
  reason: string;
}

/** The plan. */
export interface ExtractPlan {
  jobs: ClipJob[];
  failures: ClipFailure[];
  /** Videos found that no given list names. */
  ignored: number;
  /** Files under a --from folder without a video extension. */
  otherFiles: number;
}

/** Videos in `dir` and in its sub-folders one level down (class folders). */
function videosInFolder(dir: string): { videos: SourceVideo[]; otherFiles: number } {
  const videos: SourceVideo[] = [];
  let otherFiles = 0;
  const take = (file: string, classFolder: string | null): void => {
    if (VIDEO_EXTENSIONS.includes(extname(file).toLowerCase())) videos.push({ path: file, id: basename(file, extname(file)), classFolder });
    else otherFiles++;
  };
  // names sorted, hidden ones skipped; stat (not the entry type) so that symbolic links count as what they point to
  const entries = (d: string): string[] => readdirSync(d).filter((n) => !n.startsWith('.')).sort();
  for (const name of entries(dir)) {
    const path = join(dir, name);
    const st = statSync(path, { throwIfNoEntry: false });
    if (st?.isFile()) take(path, null);
    else if (st?.isDirectory()) {
      for (const f of entries(path)) if (statSync(join(path, f), { throwIfNoEntry: false })?.isFile()) take(join(path, f), name);
    }
  }
  return { videos, otherFiles };
}

/** A list of video paths, one a line, relative to the list's folder; a path's parent folder is its class folder. */
async function videosInList(list: string): Promise<SourceVideo[]> {
  const base = dirname(list);
  const lines = (await readFile(list, 'utf8')).split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  return lines.map((l) => {
    const path = resolve(base, l);
    const rel = relative(base, path).split(sep);
    return { path, id: basename(path, extname(path)), classFolder: rel.length > 1 ? rel[rel.length - 2] : null };
  });
}

/** Reads the layout's split files from `dir`; a missing file or malformed line stops the command (one line, naming it). */
export async function readLists(layout: Layout, dir: string): Promise<ListedClip[]> {
  const out: ListedClip[] = [];
  for (const { file, splits } of layout.listFiles) {
    const path = join(dir, file);
    const text = await readFile(path, 'utf8').catch(() => {
      throw new ExtractInputError(`${path}: split file is missing or unreadable (--lists must hold ${layout.listFiles.map((f) => f.file).join(', ')})`);
    });
    text.split(/\r?\n/).forEach((raw, i) => {
      const t = raw.trim();
      if (!t) return;
      const r = layout.parseLine(t, splits[0]);
      if (r === null) return;
      if (typeof r === 'string') throw new ExtractInputError(`${path}:${i + 1}: ${r}: "${t}"`);
      out.push({ ...r, file: path, lineNo: i + 1 });
    });
  }
  return out;
}

/** Options of `planExtraction`. */
export interface PlanOptions {
  from: string;
  layout: Layout;
  /** Folder of the layout's split files; null: assign splits here. */
  lists: string | null;
  /** AVE: extract only the annotated event (Start to End) instead of the whole video. */
  eventWindow: boolean;
}

export async function planExtraction(o: PlanOptions): Promise<ExtractPlan> {
  if (!existsSync(o.from)) throw new ExtractInputError(`--from ${o.from} does not exist; give a folder of videos (class sub-folders allowed) or a text file listing video paths`);
  const found = statSync(o.from).isDirectory() ? videosInFolder(o.from) : { videos: await videosInList(o.from), otherFiles: 0 };
  const failures: ClipFailure[] = [];
  const byId = new Map<string, SourceVideo>();
  for (const v of found.videos) {
    const first = byId.get(v.id);
    if (first) failures.push({ id: v.id, video: v.path, reason: `duplicate id "${v.id}" (also ${first.path}); rename one of the two videos` });
    else byId.set(v.id, v);
  }
  const known = o.layout.classes;
  const checkLabel = (label: string): string | null =>
    known && !known.includes(label) ? `unknown label "${label}" (known: ${known.join(', ')})` : /[,&\n]/.test(label) ? `label "${label}" holds a comma or "&" the split files cannot hold` : null;

  const jobs: ClipJob[] = [];
  if (o.lists === null) {
    for (const v of byId.values()) {
      const label = o.layout.labelFromId(v.id) ?? v.classFolder;
      if (!label) {
        failures.push({ id: v.id, video: v.path, reason: `no label: put the video in a class folder (${o.from}/<label>/) or pass --lists with the ${o.layout.name} split files` });
        continue;
      }
      const bad = checkLabel(label);
      if (bad) failures.push({ id: v.id, video: v.path, reason: bad });
      else jobs.push({ id: v.id, video: v.path, label, split: null, line: null, window: null });
    }
    return { jobs, failures, ignored: 0, otherFiles: found.otherFiles };
  }

  const listed = await readLists(o.layout, o.lists);
  const used = new Set<string>();
  for (const c of listed) {
    const where = `${c.file}:${c.lineNo}`;
    if (used.has(c.id)) {
      failures.push({ id: c.id, video: '', reason: `${where}: listed twice` });
      continue;
    }
    used.add(c.id);
    const bad = checkLabel(c.label);
    if (bad) {
      failures.push({ id: c.id, video: '', reason: `${where}: ${bad}` });
      continue;
    }
    // Kinetics ids carry their window: an untrimmed <ytid> video is cut to it, a <id> clip is taken whole.
    const win = o.layout.name === 'ks' ? ksWindow(c.id) : null;
    const whole = byId.get(c.id);
    const untrimmed = !whole && win ? byId.get(win.ytid) : undefined;
    const video = whole ?? untrimmed;
    if (!video) {
      failures.push({ id: c.id, video: '', reason: `${where}: no video named ${c.id}.*${win ? ` or ${win.ytid}.*` : ''} under ${o.from}` });
      continue;
    }
    used.add(video.id);
    const window = untrimmed && win ? { start: win.start, end: win.end } : o.eventWindow && c.event ? c.event : null;
    jobs.push({ id: c.id, video: video.path, label: c.label, split: c.split, line: c.line, window });
  }
  const ignored = [...byId.keys()].filter((id) => !used.has(id)).length;
  return { jobs, failures, ignored, otherFiles: found.otherFiles };
}

/**
 * Seeded, class-stratified splits for clips without a given list: in each class of n clips
 * (sorted by id, then a permutation seeded by (seed, label)), round(testFraction x n) go to test
 * and, where the layout has a val file, round(valFraction x n) to val; each at least one while
 * the class keeps one clip for train; the rest to train.
 */
export function assignSplits(jobs: ClipJob[], splits: readonly Split[], fractions: { test: number; val: number }, seed: number): void {
  const byLabel = new Map<string, ClipJob[]>();
  for (const j of [...jobs].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) byLabel.set(j.label, [...(byLabel.get(j.label) ?? []), j]);
  // round(f x n) of the class, at least one, leaving at least one clip of the class for train
  const take = (n: number, room: number, f: number): number => (f > 0 && room >= 2 ? Math.min(room - 1, Math.max(1, Math.round(f * n))) : 0);
  for (const [label, items] of byLabel) {
    const n = items.length;
    const perm = new Rng(seed, 'extract-split', label).permutation(n);
    const nTest = take(n, n, fractions.test);
    const nVal = splits.includes('val') ? take(n, n - nTest, fractions.val) : 0;
    perm.forEach((p, k) => (items[p].split = k < nTest ? 'test' : k < nTest + nVal ? 'val' : 'train'));
  }
}
