/**
 * What `mmgap data extract` writes for each layout: the same paths, frame naming and split files
 * that the loaders in src/data/datasets read (docs/DATA.md). Facts from the peers' preprocessing
 * scripts (OGM-GE's pre-processing/ and data/CREMAD/video_preprocessing.py):
 * - CREMA-D: 1 frame per second, the first frame of each second (source frame n with
 *   n mod floor(fps) = 0), named by that source index: Image-01-FPS/<id>/00000.jpg, 00030.jpg, ...
 * - AVE, Kinetics-Sounds: 1 frame per second, the centre of each second, named frame_00001.jpg, ...
 *   The script asks for frame position round((i + 0.5) fps) (Python's round, half to even) of
 *   moviepy's FFMPEG_VideoReader, which counts positions from 1 (its get_frame(t) reads position
 *   int(fps t) + 1, and a new reader holds position 1 = the first frame), stepping forward with
 *   skip_frames; so frame i is source index round((i + 0.5) fps) - 1.
 * - Audio: `ffmpeg -i clip -acodec pcm_s16le -ac 1 -ar 16000 <id>.wav` (OGM-GE's AVE & CREMA-D
 *   script; CREMA-D's own AudioWAV files are 16 kHz mono too). The recipes resample on load
 *   (CREMA-D to 22,050 Hz), exactly as for the files the data sets ship.
 */
import { join } from 'node:path';
import { CREMAD_CLASSES } from '../datasets/cremad.js';
import type { Split } from '../types.js';

export const LAYOUTS = ['cremad', 'ave', 'ks', 'folder'] as const;
export type LayoutName = (typeof LAYOUTS)[number];

/** The WAV every layout gets: 16-bit PCM, mono, 16 kHz. */
export const WAV_FORMAT = { sampleRate: 16000, channels: 1, codec: 'pcm_s16le' } as const;

/** One clip of a split file, as read from a given list or as assigned. */
export interface ListedClip {
  id: string;
  label: string;
  split: Split;
  /** The line as given (rewritten unchanged for clips that extract); null when assigned here. */
  line: string | null;
  /** AVE's annotated event, seconds. */
  event: { start: number; end: number } | null;
  file: string;
  lineNo: number;
}

/** A clip that was extracted, for the split files. */
export interface ExtractedClip {
  id: string;
  label: string;
  split: Split;
  line: string | null;
  /** Seconds of audio written. */
  seconds: number;
}

export interface Layout {
  name: LayoutName;
  audioFile(root: string, id: string): string;
  frameDir(root: string, id: string): string;
  /** Source frame indices to keep from a clip of `frames` frames at `fps`. */
  frameIndices(frames: number, fps: number): number[];
  /** File name of the k-th kept frame, source index n. */
  frameName(k: number, n: number): string;
  /** The splits its files hold (the loaders carve val from train where none ships). */
  splits: readonly Split[];
  /** The split files, by split (folder: one manifest for all). */
  listFiles: readonly { file: string; splits: readonly Split[] }[];
  /** Parses one line of a given split file: a clip, null for a header, or the reason it is malformed. */
  parseLine(text: string, split: Split): Omit<ListedClip, 'file' | 'lineNo'> | null | string;
  /** The split files' text for the extracted clips, by file name. */
  formatLists(clips: readonly ExtractedClip[]): Record<string, string>;
  /** A fixed class list (CREMA-D's six emotions), else null: the labels found. */
  classes: readonly string[] | null;
  /** The label a clip id carries (CREMA-D: 1001_DFA_ANG_XX), else null. */
  labelFromId(id: string): string | null;
}

/** Python's round(): half to even. */
function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (Math.abs(d - 0.5) > 1e-9) return Math.round(x);
  return f % 2 === 0 ? f : f + 1;
}

/** CREMA-D: the first frame of each second; floor(fps) as the script's int(fps). */
function firstOfEachSecond(frames: number, fps: number): number[] {
  const step = Math.max(1, Math.floor(fps));
  return Array.from({ length: Math.ceil(frames / step) }, (_, i) => i * step);
}

/** AVE, KS: the centre frame of each whole second the clip covers (at least one). */
export function centreOfEachSecond(frames: number, fps: number): number[] {
  const seconds = Math.max(1, Math.round(frames / fps));
  const out: number[] = [];
  for (let i = 0; i < seconds; i++) out.push(Math.min(frames - 1, Math.max(0, roundHalfEven((i + 0.5) * fps) - 1)));
  return out;
}

const frameFile = (k: number): string => `frame_${String(k + 1).padStart(5, '0')}.jpg`;
const byLine = (clips: readonly ExtractedClip[], split: Split, format: (c: ExtractedClip) => string): string =>
  clips.filter((c) => c.split === split).map((c) => `${c.line ?? format(c)}\n`).join('');

const cremad: Layout = {
  name: 'cremad',
  audioFile: (root, id) => join(root, 'AudioWAV', `${id}.wav`),
  frameDir: (root, id) => join(root, 'Image-01-FPS', id),
  frameIndices: firstOfEachSecond,
  frameName: (_k, n) => `${String(n).padStart(5, '0')}.jpg`,
  splits: ['train', 'test'],
  listFiles: [{ file: 'train.csv', splits: ['train'] }, { file: 'test.csv', splits: ['test'] }],
  parseLine(text, split) {
    const [id, label] = text.split(',').map((s) => s.trim());
    return id && label ? { id, label, split, line: text, event: null } : 'expected "<id>,<label>"';
  },
  formatLists: (clips) => ({
    'train.csv': byLine(clips, 'train', (c) => `${c.id},${c.label}`),
    'test.csv': byLine(clips, 'test', (c) => `${c.id},${c.label}`),
  }),
  classes: CREMAD_CLASSES,
  labelFromId: (id) => id.split('_')[2] ?? null,
};

const aveLine = (c: ExtractedClip): string => `${c.label}&${c.id}&good&0&${Math.round(c.seconds)}`;
const ave: Layout = {
  name: 'ave',
  audioFile: (root, id) => join(root, 'Audio-1004-SE', `${id}.wav`),
  frameDir: (root, id) => join(root, 'Image-01-FPS-SE', id),
  frameIndices: centreOfEachSecond,
  frameName: frameFile,
  splits: ['train', 'val', 'test'],
  listFiles: [{ file: 'trainSet.txt', splits: ['train'] }, { file: 'valSet.txt', splits: ['val'] }, { file: 'testSet.txt', splits: ['test'] }],
  parseLine(text, split) {
    const f = text.split('&').map((s) => s.trim());
    if (f[0] === 'Category' && f[1] === 'VideoID') return null;
    if (f.length < 5 || !f[0] || !f[1]) return 'expected "Category&VideoID&Quality&Start&End"';
    const start = Number(f[3]), end = Number(f[4]);
    if (!(start >= 0 && end > start)) return `Start and End must be seconds with Start < End, got "${f[3]}" and "${f[4]}"`;
    return { id: f[1], label: f[0], split, line: text, event: { start, end } };
  },
  formatLists: (clips) => ({
    'trainSet.txt': byLine(clips, 'train', aveLine),
    'valSet.txt': byLine(clips, 'val', aveLine),
    'testSet.txt': byLine(clips, 'test', aveLine),
  }),
  classes: null,
  labelFromId: () => null,
};

const ksLine = (c: ExtractedClip): string => `${c.id},${Math.round(c.seconds)},${c.label}`;
const ks: Layout = {
  name: 'ks',
  audioFile: (root, id) => join(root, 'audio', `${id}.wav`),
  frameDir: (root, id) => join(root, 'frames', id),
  frameIndices: centreOfEachSecond,
  frameName: frameFile,
  splits: ['train', 'test'],
  listFiles: [{ file: 'my_train.txt', splits: ['train'] }, { file: 'my_test.txt', splits: ['test'] }],
  parseLine(text, split) {
    const first = text.indexOf(',');
    const second = text.indexOf(',', first + 1);
    if (first <= 0 || second < 0 || second === text.length - 1) return 'expected "<ytid>_<start>_<end>,<duration>,<label>"';
    return { id: text.slice(0, first).trim(), label: text.slice(second + 1).trim(), split, line: text, event: null };
  },
  formatLists: (clips) => ({ 'my_train.txt': byLine(clips, 'train', ksLine), 'my_test.txt': byLine(clips, 'test', ksLine) }),
  classes: null,
  labelFromId: () => null,
};

const folder: Layout = {
  name: 'folder',
  audioFile: (root, id) => join(root, 'audio', `${id}.wav`),
  frameDir: (root, id) => join(root, 'visual', id),
  frameIndices: centreOfEachSecond,
  frameName: frameFile,
  splits: ['train', 'val', 'test'],
  listFiles: [{ file: 'manifest.csv', splits: ['train', 'val', 'test'] }],
  parseLine(text) {
    const [id, label, split] = text.split(',').map((s) => s.trim());
    if (id === 'id' && label === 'label' && split === 'split') return null;
    if (!id || !label || !split) return 'expected "<id>,<label>,<split>"';
    if (split !== 'train' && split !== 'val' && split !== 'test') return `unknown split "${split}" (known: train, val, test)`;
    return { id, label, split, line: text, event: null };
  },
  formatLists: (clips) => ({
    'manifest.csv': `id,label,split\n${(['train', 'val', 'test'] as const).map((s) => byLine(clips, s, (c) => `${c.id},${c.label},${c.split}`)).join('')}`,
  }),
  classes: null,
  labelFromId: () => null,
};

export const EXTRACT_LAYOUTS: Record<LayoutName, Layout> = { cremad, ave, ks, folder };

/** A Kinetics id "<ytid>_<start6>_<end6>": the YouTube id and the window, seconds. */
export function ksWindow(id: string): { ytid: string; start: number; end: number } | null {
  const m = /^(.+)_(\d{6})_(\d{6})$/.exec(id);
  return m && Number(m[3]) > Number(m[2]) ? { ytid: m[1], start: Number(m[2]), end: Number(m[3]) } : null;
}
