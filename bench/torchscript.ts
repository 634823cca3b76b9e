/**
 * TorchScript encoders against mmgap's own and against PyTorch: the engine benchmark's model
 * (bench/engine-model.ts: ResNet18 audio encoder on 1x128x128, ResNet18 visual encoder on
 * 3x112x112, concat into a Linear to 10 classes, SGD with momentum) trained three ways, each
 * configuration in a fresh process, interleaved round by round with the order rotated:
 *   mmgap      mmgap's own ResNet18s (nn.ResNet18);
 *   jit        the two encoders as TorchScript files (torchvision's resnet18 as bench/engine_torch.py
 *              builds it, scripted by python3-torch), loaded with --encoder's ScriptModule, the head
 *              and the optimizer mmgap's;
 *   torch      PyTorch eager (bench/engine_torch.py).
 * Each figure is the median over the rounds of samples/s (median step time of each process);
 * jit_vs_mmgap and jit_vs_torch are the ratios of the medians, with each round's ratios.
 *
 * Options: npm run bench:torchscript -- --help. Last stdout line: a JSON object.
 */
import { availableParallelism, tmpdir } from 'node:os';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { nn, optim, randn, randint, setNumThreads, manualSeed, tidy, cat, type MemoryFormat, type Tensor } from '../src/torch/index.js';
import { ScriptModule } from '../src/torch/jit.js';
import { AudioVisual, INPUT_FORMATS, timedSteps } from './engine-model.js';
import { median } from './stats.js';
import { lastJsonLine } from './child.js';
import { benchArgs } from './args.js';

const PYTHON = process.env.MMGAP_PYTHON ?? '/usr/bin/python3';
const SIDES = ['mmgap', 'jit', 'torch'] as const;
type Side = (typeof SIDES)[number];
const opts = benchArgs('Usage: npm run bench:torchscript -- [options]', {
  json: { kind: 'flag', help: 'only the JSON line on stdout' },
  batch: { kind: 'int', default: 32, help: 'batch size' },
  format: { kind: 'string', choices: INPUT_FORMATS, default: 'contiguous', help: 'memory format of inputs and weights, the same for all three' },
  steps: { kind: 'int', default: 8, help: 'timed steps per measurement' },
  warmup: { kind: 'int', min: 0, default: 3, help: 'untimed steps before them (the JIT profiles its first two calls)' },
  rounds: { kind: 'int', default: 3, help: 'interleaved rounds; figures are medians over them' },
  threads: { kind: 'int', default: availableParallelism(), help: 'intra-op threads of every side' },
  measureOne: { kind: 'string', internal: true, help: 'side,dir: measure one side in this process' },
});
const log = (s: string): void => { process.stderr.write(s + '\n'); };
const format = opts.format as MemoryFormat;

/** The two encoders of bench/engine_torch.py, scripted into `dir`. */
function scriptEncoders(dir: string): void {
  execFileSync(PYTHON, ['-c', `
import sys, torch
sys.path.insert(0, ${JSON.stringify(fileURLToPath(new URL('../../bench', import.meta.url)))})
from engine_torch import encoder
torch.manual_seed(0)
for name, ch in (('audio', 1), ('visual', 3)):
    torch.jit.save(torch.jit.script(encoder(ch)), ${JSON.stringify(dir)} + '/' + name + '.pt')
`], { stdio: ['ignore', 'inherit', 'inherit'] });
}

/** AudioVisual with TorchScript encoders. */
class ScriptedAudioVisual extends nn.Module {
  readonly audio: ScriptModule;
  readonly visual: ScriptModule;
  readonly fc = this.module('fc', new nn.Linear(1024, 10));
  constructor(dir: string) {
    super();
    this.audio = this.module('audio', new ScriptModule(join(dir, 'audio.pt')));
    this.visual = this.module('visual', new ScriptModule(join(dir, 'visual.pt')));
  }
  forward(a: Tensor, v: Tensor): Tensor { return this.fc.forward(cat([this.audio.forward(a), this.visual.forward(v)], 1)); }
}

function measureHere(side: Side, dir: string): { sps: number } {
  manualSeed(0);
  const model = (side === 'jit' ? new ScriptedAudioVisual(dir) : new AudioVisual()).to({ memoryFormat: format });
  model.train();
  const sgd = new optim.SGD(model.parameters(), { lr: 0.01, momentum: 0.9, weightDecay: 1e-4 });
  const a = randn([opts.batch, 1, 128, 128]).contiguous(format);
  const v = randn([opts.batch, 3, 112, 112]).contiguous(format);
  const y = randint(0, 10, [opts.batch]);
  const step = (): void => tidy(() => {
    sgd.zeroGrad();
    const loss = nn.F.crossEntropy(model.forward(a, v), y);
    loss.backward();
    sgd.step();
    loss.item();
  });
  return { sps: opts.batch / median(timedSteps(step, opts.warmup, opts.steps)) };
}

function measure(side: Side, dir: string): number {
  if (side === 'torch') {
    return lastJsonLine<{ sps: number }>(PYTHON, [fileURLToPath(new URL('../../bench/engine_torch.py', import.meta.url)), '--batch', String(opts.batch), '--steps', String(opts.steps),
      '--warmup', String(opts.warmup), '--threads', String(opts.threads), '--format', format]).sps;
  }
  return lastJsonLine<{ sps: number }>(process.execPath, [fileURLToPath(import.meta.url), '--measure-one', `${side},${dir}`, '--batch', String(opts.batch),
    '--steps', String(opts.steps), '--warmup', String(opts.warmup), '--threads', String(opts.threads), '--format', format]).sps;
}

function main(): void {
  const dir = mkdtempSync(join(tmpdir(), 'mmgap-bench-jit-'));
  scriptEncoders(dir);
  log(`TorchScript bench: batch ${opts.batch}, ${format}, ${opts.threads} threads, ${opts.steps} timed steps after ${opts.warmup}, ${opts.rounds} rounds`);
  const per: Record<Side, number[]> = { mmgap: [], jit: [], torch: [] };
  for (let r = 0; r < opts.rounds; r++) {
    // Each side goes first once every three rounds.
    for (let k = 0; k < SIDES.length; k++) {
      const side = SIDES[(r + k) % SIDES.length] as Side;
      per[side].push(measure(side, dir));
    }
    log(`  round ${r + 1}: ${SIDES.map((s) => `${s} ${(per[s][r] as number).toFixed(2)}`).join(', ')} samples/s`);
  }
  const m = Object.fromEntries(SIDES.map((s) => [s, median(per[s])])) as Record<Side, number>;
  const ratios = (x: Side, y: Side): number[] => per[x].map((v, i) => v / (per[y][i] as number));
  const out = {
    batch: opts.batch, format, threads: opts.threads, steps: opts.steps, warmup: opts.warmup, rounds: opts.rounds,
    mmgap_sps: m.mmgap, jit_sps: m.jit, torch_sps: m.torch, jit_vs_mmgap: m.jit / m.mmgap, jit_vs_torch: m.jit / m.torch, mmgap_vs_torch: m.mmgap / m.torch,
    round_jit_vs_mmgap: ratios('jit', 'mmgap'), round_jit_vs_torch: ratios('jit', 'torch'), per_round: per,
  };
  if (!opts.json) log(`medians: mmgap ${m.mmgap.toFixed(2)}, TorchScript in mmgap ${m.jit.toFixed(2)}, PyTorch ${m.torch.toFixed(2)} samples/s; TorchScript / mmgap ${out.jit_vs_mmgap.toFixed(3)}, TorchScript / PyTorch ${out.jit_vs_torch.toFixed(3)}`);
  console.log(JSON.stringify(out));
}

setNumThreads(opts.threads);
if (opts.measureOne !== undefined) {
  const [side, dir] = opts.measureOne.split(',') as [Side, string];
  console.log(JSON.stringify(measureHere(side, dir)));
} else {
  main();
}
