/**
 * ffmpeg and ffprobe: where they are (env FFMPEG / FFPROBE, else PATH), running them, and probing a
 * video's streams. Debian's `ffmpeg` package ships both.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The two binaries. */
export interface FfmpegTools {
  ffmpeg: string;
  ffprobe: string;
}

/** ffmpeg or ffprobe cannot be run: the message names the binary and the fix. */
export class FfmpegMissingError extends Error {
  override name = 'FfmpegMissingError';
}

/** A clip that cannot be extracted; the message is the reason recorded for it. */
export class ClipError extends Error {
  override name = 'ClipError';
}

/** FFMPEG names the ffmpeg binary; ffprobe is FFPROBE, else the ffprobe beside FFMPEG, else the one on PATH. */
export function ffmpegTools(env: Record<string, string | undefined>): FfmpegTools {
  const ffmpeg = env.FFMPEG || 'ffmpeg';
  const beside = env.FFMPEG ? join(dirname(env.FFMPEG), 'ffprobe') : null;
  const ffprobe = env.FFPROBE || (beside && existsSync(beside) ? beside : 'ffprobe');
  return { ffmpeg, ffprobe };
}

function missing(binary: string, which: 'ffmpeg' | 'ffprobe'): FfmpegMissingError {
  const env = which === 'ffmpeg' ? 'FFMPEG' : 'FFPROBE';
  return new FfmpegMissingError(`${which} not found (tried "${binary}"): install it (Debian/Ubuntu: apt-get install ffmpeg) or set ${env} to the ${which} binary`);
}

/** The result of one run of a binary. */
export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `binary args`; a binary that cannot be started is an FfmpegMissingError. `signal` kills it. */
export function runTool(binary: string, which: 'ffmpeg' | 'ffprobe', args: string[], signal?: AbortSignal): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], signal });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e: NodeJS.ErrnoException) => reject(e.code === 'ENOENT' || e.code === 'EACCES' ? missing(binary, which) : e));
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }));
  });
}

/** Checks that both binaries run, before any clip is touched. */
export async function checkTools(tools: FfmpegTools): Promise<void> {
  for (const which of ['ffmpeg', 'ffprobe'] as const) {
    const r = await runTool(tools[which], which, ['-version']);
    if (r.code !== 0) throw missing(tools[which], which);
  }
}

/** The last non-empty line of a tool's stderr: ffmpeg's own reason for a failure. */
export function lastLine(stderr: string): string {
  return stderr.trim().split('\n').map((l) => l.trim()).filter(Boolean).at(-1) ?? 'no message';
}

/** What ffprobe says about a video file. */
export interface VideoProbe {
  /** Seconds (the container's duration, else the longest stream's). */
  duration: number;
  video: { width: number; height: number; fps: number } | null;
  audio: { sampleRate: number; channels: number } | null;
}

interface ProbeJson {
  streams?: { codec_type?: string; width?: number; height?: number; r_frame_rate?: string; avg_frame_rate?: string; sample_rate?: string; channels?: number; duration?: string; disposition?: { attached_pic?: number } }[];
  format?: { duration?: string };
}

const rate = (r: string | undefined): number => {
  const [n, d] = (r ?? '0/0').split('/').map(Number);
  return d > 0 && n > 0 ? n / d : 0;
};

/** Probes `file`; an unreadable file is a ClipError with ffprobe's reason. */
export async function probeVideo(tools: FfmpegTools, file: string, signal?: AbortSignal): Promise<VideoProbe> {
  const r = await runTool(tools.ffprobe, 'ffprobe', ['-v', 'error', '-of', 'json', '-show_streams', '-show_format', file], signal);
  if (r.code !== 0) throw new ClipError(`unreadable video (ffprobe: ${lastLine(r.stderr)})`);
  const j = JSON.parse(r.stdout) as ProbeJson;
  const streams = j.streams ?? [];
  // a cover picture is a "video" stream of one frame, not the clip's video
  const v = streams.find((s) => s.codec_type === 'video' && !s.disposition?.attached_pic);
  const a = streams.find((s) => s.codec_type === 'audio');
  const durations = [j.format?.duration, ...streams.map((s) => s.duration)].map(Number).filter((x) => Number.isFinite(x) && x > 0);
  const fps = v ? rate(v.r_frame_rate) || rate(v.avg_frame_rate) : 0;
  return {
    duration: durations[0] ?? 0,
    video: v && v.width && v.height && fps > 0 ? { width: v.width, height: v.height, fps } : null,
    audio: a ? { sampleRate: Number(a.sample_rate ?? 0), channels: a.channels ?? 0 } : null,
  };
}
