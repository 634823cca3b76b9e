/** Tiny on-disk datasets in the community layouts, written into temp folders by the tests. */
import jpeg from 'jpeg-js';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { writeNpy } from '../../../src/data/io/npy.js';
import type { Batch } from '../../../src/data/types.js';
import { wavBytes } from './wav-bytes.js';

/** A fresh temp folder. */
/** Every batch a loader yields in one pass. */
export async function collect(it: AsyncIterable<Batch>): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of it) out.push(b);
  return out;
}

export function tempDir(tag: string): string {
  return mkdtempSync(join(tmpdir(), `mmgap-${tag}-`));
}

/** Writes a file, creating its folder. */
export function put(file: string, bytes: Uint8Array | string): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, bytes);
}

/** A short tone as 16-bit mono WAV bytes; `seed` changes the pitch. */
export function toneWav(seconds: number, rate: number, seed: number): Uint8Array {
  const n = Math.round(seconds * rate);
  const f = 200 + 50 * seed;
  return wavBytes([Array.from({ length: n }, (_, i) => 0.4 * Math.sin((2 * Math.PI * f * i) / rate))], rate, 'pcm16');
}

/** A small JPEG whose colours depend on `seed`. */
export function jpegBytes(width: number, height: number, seed: number): Uint8Array {
  const data = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      data.set([(x * 7 + seed * 40) % 256, (y * 9 + seed * 20) % 256, (seed * 60) % 256, 255], (y * width + x) * 4);
    }
  }
  return jpeg.encode({ width, height, data }, 90).data;
}

/** Writes `count` frames named by `name(i)` into `dir`. */
export function frameFolder(dir: string, count: number, seed: number, name: (i: number) => string = (i) => `${String(i).padStart(5, '0')}.jpg`): void {
  for (let i = 0; i < count; i++) put(join(dir, name(i)), jpegBytes(40, 30, seed + i));
}

/** CREMA-D: train.csv (one clip per class, twice), test.csv (3 clips), AudioWAV, Image-01-FPS. */
export function cremadFixture(): { root: string; train: string[]; test: string[] } {
  const root = tempDir('cremad');
  const classes = ['NEU', 'HAP', 'SAD', 'FEA', 'DIS', 'ANG'];
  const train = [...classes, ...classes].map((c, i) => `10${String(i).padStart(2, '0')}_IEO_${c}_XX`);
  const test = ['ANG', 'NEU', 'SAD'].map((c, i) => `20${i}1_TIE_${c}_HI`);
  [...train, ...test].forEach((id, i) => {
    put(join(root, 'AudioWAV', `${id}.wav`), toneWav(0.4 + 0.1 * (i % 3), 16000, i));
    frameFolder(join(root, 'Image-01-FPS', id), 4, i);
  });
  put(join(root, 'train.csv'), train.map((id) => `${id},${id.split('_')[2]}`).join('\n') + '\n');
  put(join(root, 'test.csv'), test.map((id) => `${id},${id.split('_')[2]}`).join('\r\n') + '\r\n');
  return { root, train, test };
}

/** Kinetics-Sounds: my_train.txt / my_test.txt, audio/<id>.npy (1024 x 128), frames/<id>/frame_00001.jpg. */
export function ksFixture(): { root: string; ids: string[] } {
  const root = tempDir('ks');
  const labels = ['playing bagpipes', 'chopping wood', 'dog barking'];
  const ids = Array.from({ length: 9 }, (_, i) => `vid${i}_x-Y_${String(i * 10).padStart(6, '0')}_${String(i * 10 + 10).padStart(6, '0')}`);
  ids.forEach((id, i) => {
    put(join(root, 'audio', `${id}.npy`), writeNpy(Float32Array.from({ length: 1024 * 128 }, (_, k) => (k % 128) + i), [1024, 128]));
    frameFolder(join(root, 'frames', id), 10, i, (k) => `frame_${String(k + 1).padStart(5, '0')}.jpg`);
  });
  put(join(root, 'my_train.txt'), ids.slice(0, 6).map((id, i) => `${id},10,${labels[i % 3]}`).join('\n'));
  put(join(root, 'my_test.txt'), ids.slice(6).map((id, i) => `${id},10,${labels[i % 3]}`).join('\n'));
  return { root, ids };
}
