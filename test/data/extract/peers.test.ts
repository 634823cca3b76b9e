/**
 * What `extractDataset` writes equals what the peers' documented preprocessing gives on the same
 * clip: the WAV of OGM-GE's `ffmpeg -i clip -acodec pcm_s16le -ac 1 -ar 16000 out.wav`, and the
 * frames their scripts keep (decoded by ffmpeg to RGB, as moviepy and OpenCV read them): CREMA-D
 * the first frame of each second, AVE/KS the centre of each second. Indices below are written out
 * by hand from the scripts' formulas, not computed by the code under test.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeWav } from '../../../src/data/audio/wav.js';
import { extractDataset } from '../../../src/data/extract/extract.js';
import { EXTRACT_SETTINGS } from '../../../src/data/extract/options.js';
import { decodeImage } from '../../../src/data/image/decode.js';
import { defaultsOf } from '../../../src/settings.js';
import { decodeAllFrames, makeVideo, runFfmpeg } from './videos.js';

const dir = mkdtempSync(join(tmpdir(), 'mmgap-extract-peers-'));
const W = 160, H = 120;
const CLIPS = [
  { name: '25fps', fps: '25', cremadId: '1001_DFA_ANG_XX', ks: [11, 37, 61], cremad: [0, 25, 50] },
  // 29.97 fps: int(fps) = 29 for CREMA-D; round(14.985) = 15, round(44.955) = 45, round(74.925) = 75 for KS
  { name: 'ntsc', fps: '30000/1001', cremadId: '1002_DFA_HAP_XX', ks: [14, 44, 74], cremad: [0, 29, 58, 87] },
];

/** Mean |a - b| over the pixels, 0-255 scale: `ours` is planar float RGB, `raw` interleaved bytes. */
function meanAbs(ours: Float32Array, raw: Uint8Array): number {
  const n = W * H;
  let s = 0;
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) s += Math.abs(ours[c * n + i] * 255 - raw[3 * i + c]);
  return s / (3 * n);
}

beforeAll(async () => {
  for (const c of CLIPS) {
    const video = makeVideo(join(dir, 'src', `${c.name}.mp4`), { fps: c.fps, size: `${W}x${H}`, tone: 440, pattern: 'frame-colours' });
    mkdirSync(join(dir, 'cremad-from'), { recursive: true });
    symlinkSync(video, join(dir, 'cremad-from', `${c.cremadId}.mp4`));
    mkdirSync(join(dir, 'ks-from', 'tone'), { recursive: true });
    symlinkSync(video, join(dir, 'ks-from', 'tone', `${c.name}.mp4`));
    runFfmpeg(['-i', video, '-acodec', 'pcm_s16le', '-ac', '1', '-ar', '16000', join(dir, 'src', `${c.name}.peer.wav`)]);
  }
  const base = { ...defaultsOf(EXTRACT_SETTINGS), workers: 2, maxFailed: 0, lists: null };
  await extractDataset({ ...base, from: join(dir, 'cremad-from'), layout: 'cremad', out: join(dir, 'cremad') });
  await extractDataset({ ...base, from: join(dir, 'ks-from'), layout: 'ks', out: join(dir, 'ks') });
}, 60_000);

describe('extracted clips equal the peers\' preprocessing', () => {
  for (const c of CLIPS) {
    it(`${c.name}: the WAV is the one OGM-GE's ffmpeg command writes, sample for sample`, () => {
      const peer = decodeWav(new Uint8Array(readFileSync(join(dir, 'src', `${c.name}.peer.wav`))), 'peer');
      for (const ours of [join(dir, 'ks', 'audio', `${c.name}.wav`), join(dir, 'cremad', 'AudioWAV', `${c.cremadId}.wav`)]) {
        const w = decodeWav(new Uint8Array(readFileSync(ours)), ours);
        expect(w.sampleRate).toBe(16000);
        expect(w.channels).toHaveLength(1);
        expect(w.channels[0].length).toBe(peer.channels[0].length);
        expect(w.channels[0].length / 16000).toBeCloseTo(3, 1);
        let maxDiff = 0;
        for (let i = 0; i < w.channels[0].length; i++) maxDiff = Math.max(maxDiff, Math.abs(w.channels[0][i] - peer.channels[0][i]));
        expect(maxDiff).toBe(0);
      }
    });

    it(`${c.name}: KS and CREMA-D frames are the source frames the peers keep (count, size, index), within JPEG tolerance`, () => {
      const raw = decodeAllFrames(join(dir, 'src', `${c.name}.mp4`), W, H);
      const cases = [
        { folder: join(dir, 'ks', 'frames', c.name), indices: c.ks, names: c.ks.map((_, k) => `frame_0000${k + 1}.jpg`) },
        { folder: join(dir, 'cremad', 'Image-01-FPS', c.cremadId), indices: c.cremad, names: c.cremad.map((n) => `${String(n).padStart(5, '0')}.jpg`) },
      ];
      for (const { folder, indices, names } of cases) {
        expect(readdirSync(folder).sort()).toEqual(names);
        names.forEach((name, k) => {
          const img = decodeImage(new Uint8Array(readFileSync(join(folder, name))), name);
          expect([img.width, img.height]).toEqual([W, H]);
          const n = indices[k];
          const own = meanAbs(img.data, raw[n]);
          expect(own, `${folder}/${name} vs source frame ${n}`).toBeLessThan(3);
          // the neighbouring source frames differ by more than the codec's error: the index is exact
          for (const m of [n - 1, n + 1].filter((m) => m >= 0 && m < raw.length)) expect(meanAbs(img.data, raw[m])).toBeGreaterThan(own + 10); // measured: 1.4-2.3 own, 70-116 neighbours
        });
      }
    });
  }
});
