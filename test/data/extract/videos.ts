/** Small real videos made by ffmpeg itself (test pattern + a sine tone), for the extract tests. */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface VideoSpec {
  seconds?: number;
  /** Frames per second, as ffmpeg takes it ("25", "30000/1001"). */
  fps?: string;
  size?: string;
  /** Tone frequency, Hz; null: no audio stream. */
  tone?: number | null;
  /** testsrc, or colours that change a lot from each frame to the next (so that a frame's index can be told from its pixels). */
  pattern?: 'testsrc' | 'frame-colours';
}

function ffmpeg(args: string[]): void {
  const r = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ffmpeg ${args.join(' ')}: ${r.error?.message ?? r.stderr}`);
}

/** An H.264 + AAC (44.1 kHz stereo) mp4: a test pattern and a tone. */
export function makeVideo(file: string, { seconds = 3, fps = '25', size = '64x48', tone = 440, pattern = 'testsrc' }: VideoSpec = {}): string {
  mkdirSync(dirname(file), { recursive: true });
  const audio = tone === null ? [] : ['-f', 'lavfi', '-i', `sine=frequency=${tone}:sample_rate=44100`];
  const audioOut = tone === null ? [] : ['-c:a', 'aac', '-ac', '2'];
  const video = pattern === 'testsrc' ? `testsrc=size=${size}:rate=${fps}` : `color=c=black:size=${size}:rate=${fps},geq=r='mod(N*37+X,256)':g='mod(N*91+Y,256)':b='mod(N*53,256)'`;
  ffmpeg(['-f', 'lavfi', '-i', video, ...audio, '-t', String(seconds), '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', ...audioOut, file]);
  return file;
}

/** Bytes that no demuxer reads, under a video's name. */
export function makeCorrupt(file: string): string {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251)));
  return file;
}

/** Raw RGB frames of a video, decoded by ffmpeg (what the peers' moviepy/cv2 readers get). */
export function decodeAllFrames(file: string, width: number, height: number): Uint8Array[] {
  const r = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-i', file, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`ffmpeg decode ${file}: ${String(r.stderr)}`);
  const size = width * height * 3;
  const out: Uint8Array[] = [];
  for (let at = 0; at + size <= r.stdout.length; at += size) out.push(new Uint8Array(r.stdout.subarray(at, at + size)));
  return out;
}

/** Runs ffmpeg with `args` as given (a peer's documented command). */
export function runFfmpeg(args: string[]): void {
  ffmpeg(args);
}
