/**
 * Peak memory against PyTorch (bench/memory_torch.py): one training step (SGD with momentum) and
 * one no-grad forward pass, on the two-ResNet18 model of bench/engine.ts (batch 64, channels_last)
 * and on the small CNN that avdigits trains by default (src/models/encoders.ts SmallCNN with a
 * Linear head; batch 512 on 1x64x64).
 *
 * Each measurement runs in a fresh process whose glibc maps every block over 64 KiB on its own
 * (MALLOC_MMAP_THRESHOLD_=65536, for both sides), so that a freed tensor leaves the resident set at
 * once: the peak resident size is then the peak of live memory, not the heap's high-water mark.
 * Each process reports its peak less its resident size once the library is loaded and has run an
 * operator.
 *
 * `--workload ragged`: instead, 3 epochs of training (SGD with momentum, batch 64) on the ragged
 * corpus of bench/ragged-folder.ts (issue #28: audio [T, 26] with T 23-79, gray frames [T, 60, 80]
 * with T 12-40), with the model `--encoder auto` builds for it (seq-cnn on the audio, the small CNN
 * per valid frame, concat fusion; width 16), the same batches in the same order on both sides (read
 * from the .npy files, padded to the longest clip, lengths given), each side in a fresh process at
 * its allocator's defaults (mmgap: its caching allocator; PyTorch: glibc's). Peak resident size
 * above the loaded library's, and training samples/s (the steps alone, not the file reads).
 *
 * Options: npm run bench:memory -- --help.
 * Last stdout line: a JSON object with one row per (model, mode): mmgap_mb, torch_mb, ratio; with
 * --workload ragged: mmgap_mb, torch_mb, rss_ratio, mmgap_sps, torch_sps, speed_ratio.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AudioVisual } from './engine-model.js';
import { lastJsonLine } from './child.js';
import { benchArgs } from './args.js';
import { RAGGED, writeRaggedFolder } from './ragged-folder.js';
import { SeededRandom } from '../src/core/index.js';
import { readNpy } from '../src/data/index.js';
import { FrameSmallCNN, MultimodalClassifier, SequenceCNN, SmallCNN } from '../src/models/index.js';
import { manualSeed, nn, noGrad, optim, randint, randn, setNumThreads, tensor, tidy, type Tensor } from '../src/torch/index.js';

const PYTHON = process.env.MMGAP_PYTHON ?? '/usr/bin/python3';
const MODELS = { 'resnet-av': 64, 'small-cnn': 512 } as const;
type Model = keyof typeof MODELS;
const MODES = ['train', 'eval'] as const;
type Mode = (typeof MODES)[number];
const opts = benchArgs('Usage: npm run bench:memory -- [options]', {
  json: { kind: 'flag', help: 'only the JSON line on stdout' },
  workload: { kind: 'string', choices: ['fixed', 'ragged'], default: 'fixed', help: 'fixed: one step of each model; ragged: 3 epochs on the ragged corpus' },
  data: { kind: 'string', help: 'ragged: the folder of bench/ragged-folder.ts to read (default: written to a temporary folder)' },
  epochs: { kind: 'int', default: 3, help: 'ragged: training epochs' },
  measureOne: { kind: 'string', internal: true, help: 'model,mode: measure one configuration in this process' },
  measureRagged: { kind: 'string', internal: true, help: 'the batch plan (JSON file): train the ragged workload in this process' },
});
const { json } = opts;
const env = { ...process.env, MALLOC_MMAP_THRESHOLD_: '65536' };
const mb = (kb: number): number => kb / 1024;

/** Runs one step of `model` in this process; prints its peak resident MB above the loaded library's. */
function measureHere(model: Model, mode: Mode): void {
  setNumThreads(2);
  manualSeed(0);
  randn([4]).sum().item();
  const base = process.resourceUsage().maxRSS;
  const batch = MODELS[model];
  let modules: nn.Module[];
  let forward: () => Tensor;
  if (model === 'resnet-av') {
    const av = new AudioVisual().to({ memoryFormat: 'channels_last' });
    // tidy: the contiguous originals go, as in PyTorch's `torch.randn(...).contiguous(...)`.
    const a = tidy(() => randn([batch, 1, 128, 128]).contiguous('channels_last'));
    const v = tidy(() => randn([batch, 3, 112, 112]).contiguous('channels_last'));
    modules = [av];
    forward = () => av.forward(a, v);
  } else {
    const cnn = new SmallCNN(1, 16, 4);
    const head = new nn.Linear(cnn.featureDim, 10);
    const x = randn([batch, 1, 64, 64]);
    modules = [cnn, head];
    forward = () => head.forward(cnn.forward(x));
  }
  const y = randint(0, 10, [batch]);
  const sgd = new optim.SGD(modules.flatMap((m) => m.parameters()), { lr: 0.01, momentum: 0.9 });
  tidy(() => {
    if (mode === 'eval') {
      for (const m of modules) m.eval();
      noGrad(() => forward().sum().item());
    } else {
      sgd.zeroGrad();
      const loss = nn.F.crossEntropy(forward(), y);
      loss.backward();
      sgd.step();
      loss.item();
    }
  });
  console.log(JSON.stringify({ peak_mb: mb(process.resourceUsage().maxRSS - base) }));
}

function peak(file: string, childArgs: string[]): number {
  return lastJsonLine<{ peak_mb: number }>(file, childArgs, env).peak_mb;
}

function main(): void {
  const rows: Record<string, unknown>[] = [];
  for (const model of Object.keys(MODELS) as Model[]) {
    for (const mode of MODES) {
      const m = peak(process.execPath, [fileURLToPath(import.meta.url), '--measure-one', `${model},${mode}`]);
      const t = peak(PYTHON, [fileURLToPath(new URL('../../bench/memory_torch.py', import.meta.url)), '--model', model, '--mode', mode, '--batch', String(MODELS[model])]);
      rows.push({ model, mode, batch: MODELS[model], mmgap_mb: m, torch_mb: t, ratio: m / t });
      process.stderr.write(`${model} batch ${MODELS[model]} ${mode}: mmgap ${m.toFixed(0)} MB, PyTorch ${t.toFixed(0)} MB (ratio ${(m / t).toFixed(3)})\n`);
    }
  }
  if (!json) {
    console.log('| model | batch | mode | mmgap peak MB | PyTorch peak MB | ratio |\n|---|---|---|---|---|---|');
    for (const r of rows) console.log(`| ${String(r.model)} | ${String(r.batch)} | ${String(r.mode)} | ${(r.mmgap_mb as number).toFixed(0)} | ${(r.torch_mb as number).toFixed(0)} | ${(r.ratio as number).toFixed(3)} |`);
  }
  console.log(JSON.stringify({ rows }));
}

const RAGGED_BATCH = 64;
/** The batches of every epoch, as lists of clip ids, and the folder: the plan both sides train on. */
interface RaggedPlan { root: string; epochs: string[][][]; classes: string[]; labels: Record<string, number> }

function raggedPlan(root: string, epochs: number): RaggedPlan {
  const rows = readFileSync(join(root, 'manifest.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
  const train = rows.filter((r) => r[2] === 'train');
  const classes = [...new Set(rows.map((r) => r[1] as string))].sort();
  const rng = new SeededRandom(0);
  const plan: string[][][] = [];
  for (let e = 0; e < epochs; e++) {
    const order = Array.from(rng.permutation(train.length), (i) => train[i]![0] as string);
    plan.push(Array.from({ length: Math.ceil(order.length / RAGGED_BATCH) }, (_, b) => order.slice(b * RAGGED_BATCH, (b + 1) * RAGGED_BATCH)));
  }
  return { root, epochs: plan, classes, labels: Object.fromEntries(train.map((r) => [r[0], classes.indexOf(r[1] as string)])) };
}

/** One modality of a batch: the clips padded with zeros to `steps`, and their lengths. */
function padded(root: string, modality: string, ids: string[], steps: number): { x: Tensor; lengths: Tensor } {
  const arrays = ids.map((id) => readNpy(readFileSync(join(root, modality, `${id}.npy`)), id));
  const shape = arrays[0]!.shape.slice(1);
  const per = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(ids.length * steps * per);
  arrays.forEach((a, i) => data.set(a.data as Float32Array, i * steps * per));
  // frames [T, H, W] are batched as [T, 1, H, W], as the folder dataset does
  const dims = shape.length === 2 ? [ids.length, steps, 1, ...shape] : [ids.length, steps, ...shape];
  return { x: tensor(data, dims), lengths: tensor(BigInt64Array.from(arrays, (a) => BigInt(a.shape[0]!)), [ids.length]) };
}

/** Trains the ragged workload in this process; prints peak resident MB above the loaded library's and samples/s. */
function measureRagged(planFile: string): void {
  const plan = JSON.parse(readFileSync(planFile, 'utf8')) as RaggedPlan;
  setNumThreads(2);
  manualSeed(0);
  randn([4]).sum().item();
  const base = process.resourceUsage().maxRSS;
  const width = 16;
  const model = new MultimodalClassifier(['audio', 'visual'], [new SequenceCNN(RAGGED.audio.dim, width), new FrameSmallCNN(1, width)], 'concat', plan.classes.length);
  const sgd = new optim.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
  let seconds = 0, samples = 0;
  for (const epoch of plan.epochs) {
    for (const ids of epoch) {
      const a = padded(plan.root, 'audio', ids, RAGGED.audio.steps[1]);
      const v = padded(plan.root, 'visual', ids, RAGGED.visual.steps[1]);
      const y = tensor(BigInt64Array.from(ids, (id) => BigInt(plan.labels[id]!)), [ids.length]);
      const t0 = performance.now();
      tidy(() => {
        sgd.zeroGrad();
        const out = model.forward({ audio: a.x, visual: v.x }, { audio: a.lengths, visual: v.lengths });
        const loss = nn.F.crossEntropy(out.fused, y);
        loss.backward();
        sgd.step();
        loss.item();
      });
      seconds += (performance.now() - t0) / 1000;
      samples += ids.length;
      for (const t of [a.x, a.lengths, v.x, v.lengths, y]) t.dispose();
    }
  }
  console.log(JSON.stringify({ peak_mb: mb(process.resourceUsage().maxRSS - base), total_peak_mb: mb(process.resourceUsage().maxRSS), sps: samples / seconds }));
}

function mainRagged(): void {
  let root = opts.data;
  if (root === undefined) {
    root = mkdtempSync(join(tmpdir(), 'mmgap-ragged-'));
    process.stderr.write(`writing the ragged corpus (${RAGGED.clips} clips) to ${root}\n`);
    writeRaggedFolder(root);
  } else if (!existsSync(join(root, 'manifest.csv'))) {
    throw new Error(`--data ${root}: no manifest.csv; write the corpus with node dist/bench/ragged-folder.js --out ${root}`);
  }
  const planFile = join(mkdtempSync(join(tmpdir(), 'mmgap-ragged-plan-')), 'plan.json');
  writeFileSync(planFile, JSON.stringify(raggedPlan(root, opts.epochs)));
  type Side = { peak_mb: number; total_peak_mb: number; sps: number };
  const m = lastJsonLine<Side>(process.execPath, [fileURLToPath(import.meta.url), '--measure-ragged', planFile]);
  process.stderr.write(`mmgap: peak ${m.peak_mb.toFixed(0)} MB above the library (${m.total_peak_mb.toFixed(0)} MB in all), ${m.sps.toFixed(2)} samples/s\n`);
  const t = lastJsonLine<Side>(PYTHON, [fileURLToPath(new URL('../../bench/memory_torch.py', import.meta.url)), '--ragged', planFile]);
  process.stderr.write(`PyTorch: peak ${t.peak_mb.toFixed(0)} MB above the library (${t.total_peak_mb.toFixed(0)} MB in all), ${t.sps.toFixed(2)} samples/s\n`);
  const result = {
    workload: 'ragged', epochs: opts.epochs, batch: RAGGED_BATCH, mmgap_mb: m.peak_mb, torch_mb: t.peak_mb, rss_ratio: m.peak_mb / t.peak_mb,
    mmgap_total_mb: m.total_peak_mb, torch_total_mb: t.total_peak_mb, mmgap_sps: m.sps, torch_sps: t.sps, speed_ratio: m.sps / t.sps,
  };
  if (!json) {
    console.log('| side | peak MB above library | peak MB in all | samples/s |\n|---|---|---|---|');
    console.log(`| mmgap | ${m.peak_mb.toFixed(0)} | ${m.total_peak_mb.toFixed(0)} | ${m.sps.toFixed(2)} |\n| PyTorch | ${t.peak_mb.toFixed(0)} | ${t.total_peak_mb.toFixed(0)} | ${t.sps.toFixed(2)} |`);
  }
  console.log(JSON.stringify(result));
}

if (opts.measureRagged !== undefined) {
  measureRagged(opts.measureRagged);
} else if (opts.measureOne !== undefined) {
  const [model, mode] = opts.measureOne.split(',') as [Model, Mode];
  measureHere(model, mode);
} else if (opts.workload === 'ragged') {
  mainRagged();
} else {
  main();
}
