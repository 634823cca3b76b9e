/**
 * `extractDataset`: raw videos -> the files a community layout holds (frames, WAV, split files),
 * with ffmpeg, a few clips at a time. Resumable: each clip is written under <out>/.extract-tmp and
 * renamed into place, frames first and the WAV last, so a clip whose WAV and frame folder both
 * exist is finished and skipped on the next run; split files and the failure CSV are written at
 * the end, through a temporary name, and list only clips that extracted.
 */
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../../atomic-write.js';
import { decodeWav } from '../audio/wav.js';
import type { Split } from '../types.js';
import { checkTools, ClipError, ffmpegTools, lastLine, probeVideo, runTool, type FfmpegTools } from './ffmpeg.js';
import { EXTRACT_LAYOUTS, WAV_FORMAT, type ExtractedClip, type Layout, type LayoutName } from './layouts.js';
import type { ExtractSettings } from './options.js';
import { assignSplits, planExtraction, type ClipFailure, type ClipJob } from './plan.js';

export interface ExtractOptions extends ExtractSettings {
  /** A folder of videos (class sub-folders allowed) or a text file listing video paths. */
  from: string;
  layout: LayoutName;
  /** The dataset root to write (what `--data <layout>:ROOT` reads). */
  out: string;
  /** A folder holding the layout's split files; null: seeded, stratified splits. */
  lists: string | null;
}

export type ClipStatus = 'done' | 'skipped' | 'failed';

export interface ExtractHooks {
  env?: Record<string, string | undefined>;
  signal?: AbortSignal;
  /** After each clip: how many of `total` are finished. */
  onClip?: (finished: number, total: number, id: string, status: ClipStatus) => void;
}

export interface ExtractSummary {
  layout: LayoutName;
  out: string;
  /** Clips planned (extracted, skipped as already complete, or failed). */
  clips: number;
  done: number;
  skipped: number;
  failed: number;
  /** failed / clips. */
  failedShare: number;
  /** Videos found that no given list names. */
  ignored: number;
  /** Files under --from without a video extension. */
  otherFiles: number;
  /** Clips per split in the written split files. */
  splits: Record<Split, number>;
  splitFiles: string[];
  failuresCsv: string;
  failures: ClipFailure[];
  seconds: number;
  /** Clips extracted (not skipped) per second of wall time. */
  clipsPerSecond: number;
}

export const FAILURES_CSV = 'extract-failures.csv';
const TMP = '.extract-tmp';

const csvField = (s: string): string => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

function hasFrames(dir: string): boolean {
  return existsSync(dir) && readdirSync(dir).some((n) => n.endsWith('.jpg'));
}

async function wavSeconds(file: string): Promise<number> {
  const w = decodeWav(new Uint8Array(await readFile(file)), file);
  return w.channels[0].length / w.sampleRate;
}

/** The ffmpeg arguments that write one clip's WAV and its kept frames (sequentially numbered from 0). */
export function ffmpegArgs(job: ClipJob, indices: number[], wav: string, framesPattern: string, jpegQuality: number): string[] {
  const window = job.window ? ['-ss', String(job.window.start), '-t', String(job.window.end - job.window.start)] : [];
  const select = `select='${indices.map((n) => `eq(n,${n})`).join('+')}'`;
  return [
    '-nostdin', '-hide_banner', '-loglevel', 'error', '-threads', '1', ...window, '-i', job.video,
    '-map', '0:a:0', '-vn', '-ac', String(WAV_FORMAT.channels), '-ar', String(WAV_FORMAT.sampleRate), '-c:a', WAV_FORMAT.codec, '-f', 'wav', wav,
    '-map', '0:v:0', '-an', '-vf', select, '-vsync', 'passthrough', '-q:v', String(jpegQuality), '-start_number', '0', framesPattern,
  ];
}

async function extractClip(job: ClipJob, layout: Layout, o: ExtractOptions, tools: FfmpegTools, tmpRoot: string, signal?: AbortSignal): Promise<{ status: 'done' | 'skipped'; seconds: number }> {
  const wav = layout.audioFile(o.out, job.id);
  const frameDir = layout.frameDir(o.out, job.id);
  if (existsSync(wav) && hasFrames(frameDir)) return { status: 'skipped', seconds: await wavSeconds(wav) };

  const probe = await probeVideo(tools, job.video, signal);
  if (!probe.video) throw new ClipError('no video stream (every layout needs frames and audio)');
  if (!probe.audio) throw new ClipError('no audio stream (every layout needs frames and audio)');
  const start = job.window?.start ?? 0;
  const end = job.window?.end ?? probe.duration;
  // half a frame of slack: containers round their durations
  if (job.window && end > probe.duration + 0.5 / probe.video.fps) {
    throw new ClipError(`video is ${probe.duration.toFixed(2)} s long, shorter than the window ${start}-${end} s`);
  }
  const frames = Math.floor((end - start) * probe.video.fps + 1e-6);
  if (frames < 1) throw new ClipError(`video holds no frame (duration ${probe.duration} s)`);
  const indices = layout.frameIndices(frames, probe.video.fps);

  const tmp = join(tmpRoot, job.id);
  await rm(tmp, { recursive: true, force: true });
  await mkdir(join(tmp, 'seq'), { recursive: true });
  await mkdir(join(tmp, 'frames'));
  const tmpWav = join(tmp, 'audio.wav');
  const r = await runTool(tools.ffmpeg, 'ffmpeg', ffmpegArgs(job, indices, tmpWav, join(tmp, 'seq', '%05d.jpg'), o.jpegQuality), signal);
  if (r.code !== 0) throw new ClipError(`ffmpeg failed: ${lastLine(r.stderr)}`);
  const written = readdirSync(join(tmp, 'seq')).filter((n) => n.endsWith('.jpg')).sort();
  if (written.length === 0) throw new ClipError('ffmpeg decoded no frame');
  const seconds = await wavSeconds(tmpWav).catch(() => 0);
  if (seconds <= 0) throw new ClipError('ffmpeg decoded no audio');
  // a video that ends before its declared duration gives fewer frames: keep those written
  for (const [k, name] of written.entries()) await rename(join(tmp, 'seq', name), join(tmp, 'frames', layout.frameName(k, indices[k])));

  await rm(frameDir, { recursive: true, force: true }); // a folder left by a run killed between the two renames
  await mkdir(dirname(frameDir), { recursive: true });
  await rename(join(tmp, 'frames'), frameDir);
  await mkdir(dirname(wav), { recursive: true });
  await rename(tmpWav, wav);
  await rm(tmp, { recursive: true, force: true });
  return { status: 'done', seconds };
}

/** Runs `jobs` through `work`, `size` at a time, in order of start; stops starting new ones when `signal` aborts. */
async function pool<T>(items: T[], size: number, work: (item: T) => Promise<void>, signal?: AbortSignal): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length && !signal?.aborted) await work(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(size, items.length) }, worker));
}

export async function extractDataset(o: ExtractOptions, hooks: ExtractHooks = {}): Promise<ExtractSummary> {
  const t0 = Date.now();
  const layout = EXTRACT_LAYOUTS[o.layout];
  const tools = ffmpegTools(hooks.env ?? process.env);
  await checkTools(tools);
  const plan = await planExtraction({ from: o.from, layout, lists: o.lists, eventWindow: o.eventWindow });
  if (o.lists === null) assignSplits(plan.jobs, layout.splits, { test: o.testFraction, val: o.valFraction }, o.seed);

  const tmpRoot = join(o.out, TMP);
  await rm(tmpRoot, { recursive: true, force: true }); // partial clips of a killed run
  await mkdir(tmpRoot, { recursive: true });
  const failures: ClipFailure[] = [...plan.failures];
  const extracted: ExtractedClip[] = [];
  const total = plan.jobs.length + plan.failures.length;
  let finished = plan.failures.length;
  let done = 0;
  let skipped = 0;
  await pool(
    plan.jobs,
    o.workers,
    async (job) => {
      let status: ClipStatus;
      try {
        const r = await extractClip(job, layout, o, tools, tmpRoot, hooks.signal);
        extracted.push({ id: job.id, label: job.label, split: job.split as Split, line: job.line, seconds: r.seconds });
        status = r.status;
        if (status === 'done') done++;
        else skipped++;
      } catch (e) {
        if (hooks.signal?.aborted) throw e;
        if (!(e instanceof ClipError)) throw e;
        failures.push({ id: job.id, video: job.video, reason: e.message });
        status = 'failed';
      }
      hooks.onClip?.(++finished, total, job.id, status);
    },
    hooks.signal,
  );
  hooks.signal?.throwIfAborted();

  // split files in the plan's order (the given lists' order, or by id), not in order of completion
  const order = new Map(plan.jobs.map((j, i) => [j.id, i]));
  extracted.sort((a, b) => (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0));
  const lists = layout.formatLists(extracted);
  for (const [name, text] of Object.entries(lists)) await writeFileAtomic(join(o.out, name), text);
  const failuresCsv = join(o.out, FAILURES_CSV);
  await writeFileAtomic(failuresCsv, `id,video,reason\n${failures.map((f) => [f.id, f.video, f.reason].map(csvField).join(',')).join('\n')}${failures.length ? '\n' : ''}`);
  await rm(tmpRoot, { recursive: true, force: true });

  const seconds = (Date.now() - t0) / 1000;
  const splits = { train: 0, val: 0, test: 0 } as Record<Split, number>;
  for (const c of extracted) splits[c.split]++;
  return {
    layout: o.layout,
    out: o.out,
    clips: total,
    done,
    skipped,
    failed: failures.length,
    failedShare: total ? failures.length / total : 0,
    ignored: plan.ignored,
    otherFiles: plan.otherFiles,
    splits,
    splitFiles: Object.keys(lists).map((n) => join(o.out, n)),
    failuresCsv,
    failures,
    seconds,
    clipsPerSecond: seconds > 0 ? done / seconds : 0,
  };
}
