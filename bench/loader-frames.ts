/**
 * `npm run bench:loader -- --dataset frames [--json]`: the training loader on a frame dataset
 * against a PyTorch DataLoader running the peers' recipe (bench/loader_torch.py), in one run.
 *   data      a generated CREMA-D-layout folder (--clips 512 training clips, 2 frames of 340x256 each,
 *             JPEG ~20 KB, 16 kHz WAVs of 1.5-3.5 s), kept in --root (default: the temp folder) for reuse
 *   decode    ms per frame to decode every frame once (bytes in memory, one thread): mmgap's image
 *             addon vs Pillow; and mmgap's whole frame recipe (decode, crop, resize, normalise) per frame
 *   loader    samples/s over --epochs (3) shuffled training epochs (after an untimed one that starts the workers;
 *             one epoch of 512 clips lasts 1-3 s, which this VM's drift moves by a third),
 *             with 1 and --workers worker threads (mmgap) / processes (PyTorch). mmgap_sps: the training
 *             loader as runs use it (audio spectrograms, which do not change, kept in memory after the
 *             first epoch; frames, augmented, made every epoch); mmgap_nocache_sps: everything recomputed
 *             every epoch, as the peers' loader does
 *   training  a training epoch (small encoders, Adam, libtorch on every core) fed by the loader with the
 *             run default of workers (cores less one) vs the same batches from memory (--no-training skips it)
 * Prints one line per measurement and a JSON object with all of them; the last line is
 * {"mmgap_sps", "torch_sps", "ratio", "workers"} at --workers. With --json only the JSON lines go to stdout.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodePixels } from '../src/data/image/decode.js';
import { listFrames, renderImage } from '../src/data/image/frames.js';
import { createLoader } from '../src/data/loader.js';
import { openDataset } from '../src/data/open.js';
import { Rng } from '../src/data/rng.js';
import type { Dataset } from '../src/data/types.js';
import { trainingEpochs } from './training-epoch.js';
import { lastJsonLine } from './child.js';

const PYTHON = process.env.MMGAP_PYTHON ?? '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('../../bench/loader_torch.py', import.meta.url));

function python(args: string[]): Record<string, number> {
  return lastJsonLine<Record<string, number>>(PYTHON, [SCRIPT, ...args]);
}

async function mmgapDecode(files: string[], size: number): Promise<{ decode_ms: number; recipe_ms: number }> {
  const blobs = files.map((f) => new Uint8Array(readFileSync(f)));
  const out = new Float32Array(3 * size * size);
  const scratch = new Uint8Array(4 << 20); // reused, as the frame recipe reuses its buffer (Pillow's allocator keeps its blocks too)
  const time = (f: (b: Uint8Array, i: number) => void): number => {
    blobs.forEach(f); // warm
    const t0 = performance.now();
    blobs.forEach(f);
    return (performance.now() - t0) / blobs.length;
  };
  return {
    decode_ms: time((b, i) => decodePixels(b, files[i] as string, 1, scratch)),
    recipe_ms: time((b, i) => renderImage(b, files[i] as string, { size, rng: new Rng(i, 'bench') }, out, 0)),
  };
}

/** Samples/s of the training loader; `memoryCache` false: every feature computed every epoch, as the peers' loaders do. */
async function mmgapEpoch(ds: Dataset, workers: number, batchSize: number, epochs: number, memoryCache: boolean): Promise<number> {
  const loader = createLoader(ds, 'train', { batchSize, workers, memoryCache, workerExecArgv: process.execArgv });
  try {
    for await (const b of loader) void b; // start-up epoch, untimed
    let seen = 0;
    const t0 = performance.now();
    for (let e = 1; e <= epochs; e++) {
      loader.epoch = e;
      for await (const b of loader) {
        seen += b.size;
        loader.recycle(b); // as the trainer hands each batch back once copied into tensors
      }
    }
    return seen / ((performance.now() - t0) / 1000);
  } finally {
    await loader.close();
  }
}

/** The frame benchmark's settings (bench/loader.ts declares them as options). */
export interface FramesBenchOptions { json: boolean; clips: number; workers: number; batchSize: number; imageSize: number; epochs: number; root?: string | undefined; training: boolean }

export async function framesBench(o: FramesBenchOptions): Promise<void> {
  const { json, clips, workers, batchSize, epochs } = o;
  const size = o.imageSize;
  const say = (line: string): void => void (json ? process.stderr : process.stdout).write(`${line}\n`);
  const root = o.root ?? join(tmpdir(), `mmgap-bench-frames-${clips}`);
  if (!existsSync(join(root, 'train.csv'))) {
    say(`writing ${clips} CREMA-D-layout clips to ${root}`);
    python(['--make', root, '--clips', String(clips)]);
  }
  const ds = await openDataset(`cremad:${root}`, { imageSize: size, valFraction: 0 });
  const train = ds.samples('train');
  const ids = join(root, 'bench-ids.txt');
  writeFileSync(ids, train.map((s) => s.id).join('\n') + '\n');

  const files = (await Promise.all(train.map((s) => listFrames(String(s.meta!.frames))))).flat();
  const list = join(root, 'bench-frames.txt');
  writeFileSync(list, files.join('\n') + '\n');
  const ours = await mmgapDecode(files, size);
  const pil = python(['--decode', list]);
  const decode = { frames: files.length, mmgap_ms: ours.decode_ms, pillow_ms: pil.pillow_ms_per_frame as number, mmgap_recipe_ms: ours.recipe_ms };
  say(`decode: ${decode.mmgap_ms.toFixed(3)} ms/frame mmgap (libjpeg-turbo), ${decode.pillow_ms.toFixed(3)} ms/frame Pillow; ` +
    `mmgap's whole frame recipe ${decode.mmgap_recipe_ms.toFixed(3)} ms/frame (${files.length} frames of ${train.length} clips)`);

  const loader: { workers: number; mmgap_sps: number; mmgap_nocache_sps: number; torch_sps: number; ratio: number }[] = [];
  for (const w of [...new Set([1, workers])]) {
    const mmgapSps = await mmgapEpoch(ds, w, batchSize, epochs, true);
    const nocacheSps = await mmgapEpoch(ds, w, batchSize, epochs, false);
    const torchSps = python(['--load', root, '--ids', ids, '--workers', String(w), '--batch', String(batchSize), '--image-size', String(size), '--epochs', String(epochs)]).torch_sps as number;
    loader.push({ workers: w, mmgap_sps: mmgapSps, mmgap_nocache_sps: nocacheSps, torch_sps: torchSps, ratio: mmgapSps / torchSps });
    say(`loader, ${w} worker${w > 1 ? 's' : ''}: ${mmgapSps.toFixed(1)} samples/s mmgap (${nocacheSps.toFixed(1)} recomputing the audio too), ` +
      `${torchSps.toFixed(1)} samples/s PyTorch DataLoader (ratio ${(mmgapSps / torchSps).toFixed(2)})`);
  }

  let training = null;
  if (o.training) {
    const trainWorkers = Math.max(1, availableParallelism() - 1);
    training = { workers: trainWorkers, ...(await trainingEpochs(ds, { batchSize, workers: trainWorkers, workerExecArgv: process.execArgv }, availableParallelism())) };
    say(`training epoch: ${training.loader_s.toFixed(2)} s fed by the loader (${trainWorkers} worker${trainWorkers > 1 ? 's' : ''}), ${training.memory_s.toFixed(2)} s from tensors in memory ` +
      `(medians; the median of the paired ratios ${training.ratio.toFixed(3)}: ${training.ratios.map((r) => r.toFixed(3)).join(', ')}; first, cold epoch with the loader ${training.cold_s.toFixed(2)} s)`);
  }
  const at = loader[loader.length - 1]!;
  console.log(JSON.stringify({ dataset: 'frames', root, clips: train.length, frames_per_clip: 2, image_size: size, batch_size: batchSize, cores: availableParallelism(), decode, loader, training_epoch: training }));
  console.log(JSON.stringify({ mmgap_sps: at.mmgap_sps, torch_sps: at.torch_sps, ratio: at.ratio, workers: at.workers }));
}
