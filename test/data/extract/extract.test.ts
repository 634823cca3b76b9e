/**
 * `mmgap data extract` end to end: small real videos made by ffmpeg (a tone per class, one without
 * audio, one corrupt) extracted into each layout; then `mmgap data verify` and a one-epoch
 * `mmgap train` on the result. Also: resuming, the failure share, given split lists with time
 * windows, and a missing ffmpeg.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../../src/cli/cli.js';
import { decodeWav } from '../../../src/data/audio/wav.js';
import { memoryIo } from '../../cli/helpers/memory-io.js';
import { makeCorrupt, makeVideo } from './videos.js';

const dir = mkdtempSync(join(tmpdir(), 'mmgap-extract-'));
const pool = join(dir, 'pool');
const CLASSES = ['ANG', 'HAP', 'NEU'];
/** Per layout, the --from folder: CREMA-D flat with CREMA-D ids, the others in class folders. */
const FROM = { cremad: join(dir, 'from-cremad'), classes: join(dir, 'from-classes') };

async function cli(argv: string[], env: Record<string, string> = {}) {
  const io = memoryIo({ env });
  const code = await runCli(argv, io);
  const last = io.out.trimEnd().split('\n').at(-1) ?? '';
  return { code, io, json: <T = Record<string, unknown>>() => JSON.parse(last) as T };
}

function link(video: string, to: string): void {
  mkdirSync(join(to, '..'), { recursive: true });
  symlinkSync(video, to);
}

beforeAll(() => {
  // 3 classes x 3 clips (3 s, 25 fps, 64x48, a tone per clip), one clip without audio, one corrupt
  CLASSES.forEach((c, ci) => {
    for (let s = 0; s < 3; s++) {
      const v = makeVideo(join(pool, `${c}${s}.mp4`), { tone: 300 + 100 * ci + 10 * s });
      link(v, join(FROM.cremad, `100${s}_DFA_${c}_XX.mp4`));
      link(v, join(FROM.classes, c.toLowerCase(), `clip_${c}${s}.mp4`));
    }
  });
  const silent = makeVideo(join(pool, 'silent.mp4'), { tone: null });
  const corrupt = makeCorrupt(join(pool, 'corrupt.mp4'));
  link(silent, join(FROM.cremad, '1009_DFA_SAD_XX.mp4'));
  link(corrupt, join(FROM.cremad, '1010_DFA_FEA_XX.mp4'));
  link(silent, join(FROM.classes, 'neu', 'silent.mp4'));
  link(corrupt, join(FROM.classes, 'ang', 'corrupt.mp4'));
}, 60_000);

interface Summary {
  done: number;
  skipped: number;
  failed: number;
  ok: boolean;
  splits: Record<string, number>;
  failures: { id: string; reason: string }[];
  failuresCsv: string;
}

const LAYOUT_CASES = [
  { layout: 'cremad', from: FROM.cremad, frames: ['00000.jpg', '00025.jpg', '00050.jpg'], frameDir: (root: string, id: string) => join(root, 'Image-01-FPS', id), wav: (root: string, id: string) => join(root, 'AudioWAV', `${id}.wav`), id: '1000_DFA_ANG_XX', bad: ['1009_DFA_SAD_XX', '1010_DFA_FEA_XX'], dataOpt: ['valFraction=0.5'], hasVal: false },
  { layout: 'ave', from: FROM.classes, frames: ['frame_00001.jpg', 'frame_00002.jpg', 'frame_00003.jpg'], frameDir: (root: string, id: string) => join(root, 'Image-01-FPS-SE', id), wav: (root: string, id: string) => join(root, 'Audio-1004-SE', `${id}.wav`), id: 'clip_ANG0', bad: ['corrupt', 'silent'], dataOpt: [], hasVal: true },
  { layout: 'ks', from: FROM.classes, frames: ['frame_00001.jpg', 'frame_00002.jpg', 'frame_00003.jpg'], frameDir: (root: string, id: string) => join(root, 'frames', id), wav: (root: string, id: string) => join(root, 'audio', `${id}.wav`), id: 'clip_ANG0', bad: ['corrupt', 'silent'], dataOpt: ['valFraction=0.5'], hasVal: false },
  { layout: 'folder', from: FROM.classes, frames: ['frame_00001.jpg', 'frame_00002.jpg', 'frame_00003.jpg'], frameDir: (root: string, id: string) => join(root, 'visual', id), wav: (root: string, id: string) => join(root, 'audio', `${id}.wav`), id: 'clip_ANG0', bad: ['corrupt', 'silent'], dataOpt: [], hasVal: true },
] as const;

describe('mmgap data extract into each layout, then verify and train', () => {
  for (const c of LAYOUT_CASES) {
    it(`${c.layout}: frames, WAV and split files that verify and train; the corrupt and audio-less clips in the CSV`, async () => {
      const root = join(dir, `out-${c.layout}`);
      const r = await cli(['data', 'extract', '--from', c.from, '--layout', c.layout, '--out', root, '--workers', '2', '--max-failed', '0.5', '--json']);
      expect(r.code, r.io.err).toBe(0);
      const s = r.json<Summary>();
      expect(s).toMatchObject({ done: 9, skipped: 0, failed: 2, ok: true });
      // splits are drawn before extraction, so a failed clip leaves a gap where it was drawn
      expect(s.splits.train + s.splits.val + s.splits.test).toBe(9);
      expect(s.splits.test).toBeGreaterThan(0);
      expect(s.splits.val > 0).toBe(c.hasVal);
      expect(readdirSync(c.frameDir(root, c.id)).sort()).toEqual(c.frames);
      const wav = decodeWav(new Uint8Array(readFileSync(c.wav(root, c.id))), c.id);
      expect(wav.sampleRate).toBe(16000);
      expect(wav.channels).toHaveLength(1);
      expect(wav.channels[0].length / 16000).toBeCloseTo(3, 1);
      const csv = readFileSync(s.failuresCsv, 'utf8').trim().split('\n');
      expect(csv[0]).toBe('id,video,reason');
      const reasons = Object.fromEntries(csv.slice(1).map((l) => [l.split(',')[0], l]));
      expect(Object.keys(reasons).sort()).toEqual([...c.bad].sort());
      expect(reasons[c.bad.find((b) => b.includes('SAD') || b === 'silent') as string]).toMatch(/no audio stream/);
      expect(reasons[c.bad.find((b) => b.includes('FEA') || b === 'corrupt') as string]).toMatch(/unreadable video \(ffprobe: .*Invalid data/);
      expect(existsSync(join(root, '.extract-tmp'))).toBe(false);

      const data = `${c.layout}:${root}`;
      const opts = c.dataOpt.flatMap((o) => ['--data-opt', o]);
      const v = await cli(['data', 'verify', '--data', data, ...opts, '--json']);
      expect(v.code, v.io.out + v.io.err).toBe(0);
      expect(v.json()).toMatchObject({ ok: true });
      const run = join(dir, `run-${c.layout}`);
      const t = await cli(['train', '--data', data, ...opts, '--data-opt', 'imageSize=32', '--data-opt', 'frames=1', '--encoder', 'resnet18', '--method', 'joint', '--epochs', '1', '--batch-size', '8', '--threads', '1', '--out', run, '--json']);
      expect(t.code, t.io.err).toBe(0);
      expect(JSON.parse(readFileSync(join(run, 'summary.json'), 'utf8'))).toMatchObject({ test: { acc: expect.any(Number) as number } });
    }, 120_000);
  }
});

describe('mmgap data extract: resuming, the failure share, given lists, ffmpeg missing', () => {
  it('fails when more than --max-failed of the clips fail; a second run skips the finished clips and redoes a removed one', async () => {
    const root = join(dir, 'out-cremad'); // extracted above with --max-failed 0.5
    // as a run killed mid-clip leaves them: a temporary folder, and a frame folder without its WAV
    rmSync(join(root, 'AudioWAV', '1001_DFA_HAP_XX.wav'));
    mkdirSync(join(root, '.extract-tmp', '1001_DFA_HAP_XX'), { recursive: true });
    const again = await cli(['data', 'extract', '--from', FROM.cremad, '--layout', 'cremad', '--out', root, '--workers', '2']);
    expect(again.code).toBe(1);
    expect(again.io.out).toMatch(/^extracted 1 clips, 8 already complete \(skipped\), 2 failed \(18 %\)/m);
    expect(again.io.out).toMatch(/^ {2}failed 1009_DFA_SAD_XX: no audio stream/m);
    expect(again.io.out).toMatch(/^2 of 11 clips failed, more than --max-failed 0\.05: see .*extract-failures\.csv; fix them, or pass --max-failed 1 to accept$/m);
    expect(existsSync(join(root, 'AudioWAV', '1001_DFA_HAP_XX.wav'))).toBe(true);
    expect(existsSync(join(root, '.extract-tmp'))).toBe(false);
    expect(readFileSync(join(root, 'train.csv'), 'utf8').trim().split('\n')).toHaveLength(6); // the good clips are kept and listed
    const third = await cli(['data', 'extract', '--from', FROM.cremad, '--layout', 'cremad', '--out', root, '--max-failed', '1', '--json']);
    expect(third.code).toBe(0);
    expect(third.json()).toMatchObject({ done: 0, skipped: 9, failed: 2, ok: true });
  }, 60_000);

  it('ks with given lists: an untrimmed video is cut to the id\'s window; a too-short video, a missing one and an unlisted one are reported', async () => {
    const from = join(dir, 'ks-raw');
    makeVideo(join(from, 'yt_one.mp4'), { seconds: 5, tone: 500 }); // untrimmed: the list's window 1-3 s is cut from it
    makeVideo(join(from, 'yt_short.mp4'), { seconds: 2, tone: 600 }); // shorter than its window 0-4 s
    link(join(pool, 'ANG0.mp4'), join(from, 'yt_two_000000_000003.mp4')); // already trimmed: taken whole
    link(join(pool, 'HAP0.mp4'), join(from, 'unlisted.mp4'));
    const lists = join(dir, 'ks-lists');
    mkdirSync(lists);
    writeFileSync(join(lists, 'my_train.txt'), 'yt_one_000001_000003,10,drums\nyt_two_000000_000003,10,piano\n');
    writeFileSync(join(lists, 'my_test.txt'), 'yt_short_000000_000004,10,drums\nyt_gone_000000_000010,10,piano\n');
    const root = join(dir, 'ks-listed');
    const r = await cli(['data', 'extract', '--from', from, '--lists', lists, '--layout', 'ks', '--out', root, '--max-failed', '1', '--json']);
    expect(r.code, r.io.err).toBe(0);
    const s = r.json<Summary & { ignored: number }>();
    expect(s).toMatchObject({ done: 2, failed: 2, ignored: 1 });
    expect(s.failures.find((f) => f.id === 'yt_short_000000_000004')?.reason).toMatch(/video is 2\.\d+ s long, shorter than the window 0-4 s/);
    expect(s.failures.find((f) => f.id === 'yt_gone_000000_000010')?.reason).toMatch(/my_test\.txt:2: no video named yt_gone_000000_000010\.\* or yt_gone\.\*/);
    const cut = decodeWav(new Uint8Array(readFileSync(join(root, 'audio', 'yt_one_000001_000003.wav'))), 'cut');
    expect(cut.channels[0].length / 16000).toBeCloseTo(2, 1);
    expect(readdirSync(join(root, 'frames', 'yt_one_000001_000003'))).toEqual(['frame_00001.jpg', 'frame_00002.jpg']);
    expect(readdirSync(join(root, 'frames', 'yt_two_000000_000003'))).toHaveLength(3);
    // the given lines, for the clips that extracted
    expect(readFileSync(join(root, 'my_train.txt'), 'utf8')).toBe('yt_one_000001_000003,10,drums\nyt_two_000000_000003,10,piano\n');
    expect(readFileSync(join(root, 'my_test.txt'), 'utf8')).toBe('');
  }, 60_000);

  it('ave with given lists and --event-window: only the annotated event; an unknown label for CREMA-D is a failure', async () => {
    const lists = join(dir, 'ave-lists');
    mkdirSync(lists);
    writeFileSync(join(lists, 'trainSet.txt'), 'Category&VideoID&Quality&StartTime&EndTime\nAnger&clip_ANG0&good&1&3\n');
    writeFileSync(join(lists, 'valSet.txt'), 'Joy&clip_HAP0&good&0&3\n');
    writeFileSync(join(lists, 'testSet.txt'), 'Calm&clip_NEU0&good&0&2\n');
    const root = join(dir, 'ave-listed');
    const r = await cli(['data', 'extract', '--from', FROM.classes, '--lists', lists, '--layout', 'ave', '--out', root, '--event-window', '--max-failed', '1', '--json']);
    expect(r.code, r.io.err).toBe(0);
    expect(r.json()).toMatchObject({ done: 3, failed: 0, splits: { train: 1, val: 1, test: 1 } });
    expect(readdirSync(join(root, 'Image-01-FPS-SE', 'clip_ANG0'))).toHaveLength(2);
    expect(readdirSync(join(root, 'Image-01-FPS-SE', 'clip_HAP0'))).toHaveLength(3);

    const from = join(dir, 'cremad-unknown');
    link(join(pool, 'ANG0.mp4'), join(from, '1001_DFA_XYZ_XX.mp4'));
    const u = await cli(['data', 'extract', '--from', from, '--layout', 'cremad', '--out', join(dir, 'cremad-unknown-out'), '--json']);
    expect(u.code).toBe(1);
    expect(u.json<Summary>().failures).toEqual([{ id: '1001_DFA_XYZ_XX', video: join(from, '1001_DFA_XYZ_XX.mp4'), reason: 'unknown label "XYZ" (known: NEU, HAP, SAD, FEA, DIS, ANG)' }]);
  }, 60_000);

  it('without ffmpeg: one line that names the fix (exit 2); a bad flag likewise', async () => {
    const r = await cli(['data', 'extract', '--from', FROM.cremad, '--layout', 'cremad', '--out', join(dir, 'no-ffmpeg')], { FFMPEG: '/nonexistent/ffmpeg' });
    expect(r.code).toBe(2);
    expect(r.io.err).toBe('mmgap: ffmpeg not found (tried "/nonexistent/ffmpeg"): install it (Debian/Ubuntu: apt-get install ffmpeg) or set FFMPEG to the ffmpeg binary\n');
    expect(existsSync(join(dir, 'no-ffmpeg'))).toBe(false);
    const bad = await cli(['data', 'extract', '--from', FROM.cremad, '--layout', 'cremad', '--out', join(dir, 'x'), '--test-fraction', '1.5']);
    expect(bad.code).toBe(2);
    expect(bad.io.err).toMatch(/--test-fraction must be a number in \[0, 1\), got 1\.5/);
    const layout = await cli(['data', 'extract', '--from', FROM.cremad, '--layout', 'vggsound', '--out', join(dir, 'x')]);
    expect(layout.code).toBe(2);
    expect(layout.io.err).toMatch(/vggsound.*cremad, ave, ks, folder/);
  });
});
