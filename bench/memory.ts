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
 * Options: npm run bench:memory -- --help.
 * Last stdout line: a JSON object with one row per (model, mode): mmgap_mb, torch_mb, ratio.
 */
import { fileURLToPath } from 'node:url';
import { AudioVisual } from './engine-model.js';
import { lastJsonLine } from './child.js';
import { benchArgs } from './args.js';
import { SmallCNN } from '../src/models/encoders.js';
import { manualSeed, nn, noGrad, optim, randint, randn, setNumThreads, tidy, type Tensor } from '../src/torch/index.js';

const PYTHON = process.env.MMGAP_PYTHON ?? '/usr/bin/python3';
const MODELS = { 'resnet-av': 64, 'small-cnn': 512 } as const;
type Model = keyof typeof MODELS;
const MODES = ['train', 'eval'] as const;
type Mode = (typeof MODES)[number];
const opts = benchArgs('Usage: npm run bench:memory -- [options]', {
  json: { kind: 'flag', help: 'only the JSON line on stdout' },
  measureOne: { kind: 'string', internal: true, help: 'model,mode: measure one configuration in this process' },
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

if (opts.measureOne !== undefined) {
  const [model, mode] = opts.measureOne.split(',') as [Model, Mode];
  measureHere(model, mode);
} else {
  main();
}
