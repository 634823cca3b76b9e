/**
 * Engine speed against PyTorch: trains the same audio-visual model (ResNet18 audio encoder on
 * 1x128x128, ResNet18 visual encoder on 3x112x112, concat fusion, SGD with momentum) in mmgap and
 * in PyTorch (Debian's python3-torch, bench/engine_torch.py) in one run, with the same threads,
 * at batch 32 and 64, each in both memory formats (contiguous, channels_last); each side is
 * credited with its faster format. Also measures the machine's float32 matmul peak and the
 * achieved GFLOP/s of a training step.
 *
 * Usage: npm run bench:engine -- [--json] [--quick] [--threads N] [--steps N] [--device cuda]
 * Last stdout line (with --json: the only one): a JSON object with mmgap_sps, torch_sps and ratio
 * (mmgap / PyTorch) for batch 32, and per-batch details.
 */
import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { nn, optim, randn, randint, cat, setNumThreads, manualSeed, tidy, ops, type Device, type Tensor, type MemoryFormat } from '../src/torch/index.js';

const PYTHON = process.env.MMGAP_PYTHON ?? '/usr/bin/python3';
const args = process.argv.slice(2);
const flag = (name: string): boolean => args.includes(name);
const opt = (name: string, dflt: number): number => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const device = args.includes('--device') ? (args[args.indexOf('--device') + 1] as string) : 'cpu';
const json = flag('--json');
const quick = flag('--quick');
const threads = opt('--threads', availableParallelism());
const steps = opt('--steps', quick ? 3 : 8);
const warmup = quick ? 1 : 2;
const batches = quick ? [32] : [32, 64];
const FORMATS: MemoryFormat[] = ['contiguous', 'channels_last'];
const log = (s: string): void => { process.stderr.write(s + '\n'); };

class AudioVisual extends nn.Module {
  readonly audio = this.module('audio', new nn.ResNet18({ inChannels: 1 }));
  readonly visual = this.module('visual', new nn.ResNet18({ inChannels: 3 }));
  readonly fc = this.module('fc', new nn.Linear(1024, 10));
  forward(a: Tensor, v: Tensor): Tensor { return this.fc.forward(cat([this.audio.forward(a), this.visual.forward(v)], 1)); }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

function mmgapSps(batch: number, format: MemoryFormat): number {
  manualSeed(0);
  const model = new AudioVisual().to({ memoryFormat: format, device });
  const sgd = new optim.SGD(model.parameters(), { lr: 0.01, momentum: 0.9, weightDecay: 1e-4 });
  const on = { device: device as Device };
  const a = randn([batch, 1, 128, 128], on).contiguous(format);
  const v = randn([batch, 3, 112, 112], on).contiguous(format);
  const y = randint(0, 10, [batch], on);
  const step = (): void => tidy(() => {
    sgd.zeroGrad();
    const loss = nn.F.crossEntropy(model.forward(a, v), y);
    loss.backward();
    sgd.step();
    loss.item();
  });
  for (let i = 0; i < warmup; i++) step();
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    step();
    times.push((performance.now() - t0) / 1000);
  }
  return batch / median(times);
}

function torchSps(batch: number, format: MemoryFormat): number {
  const script = fileURLToPath(new URL('../../bench/engine_torch.py', import.meta.url));
  const out = execFileSync(PYTHON, [script, '--batch', String(batch), '--steps', String(steps), '--warmup', String(warmup),
    '--threads', String(threads), '--format', format, '--device', device], { encoding: 'utf8' });
  return (JSON.parse(out.trim().split('\n').pop() as string) as { sps: number }).sps;
}

/** Multiply-adds x2 of one ResNet18 forward pass on a CxHxW input (convolutions and no head). */
function resnet18Flops(c: number, h: number, w: number): number {
  let flops = 0;
  const conv = (cin: number, cout: number, k: number, s: number, p: number): void => {
    h = Math.floor((h + 2 * p - k) / s) + 1;
    w = Math.floor((w + 2 * p - k) / s) + 1;
    flops += 2 * cin * k * k * cout * h * w;
  };
  conv(c, 64, 7, 2, 3);
  h = Math.floor((h + 2 - 3) / 2) + 1; w = Math.floor((w + 2 - 3) / 2) + 1; // max pool
  let cin = 64;
  for (const [i, width] of [64, 128, 256, 512].entries()) {
    for (let b = 0; b < 2; b++) {
      const stride = i > 0 && b === 0 ? 2 : 1;
      const [h0, w0] = [h, w];
      conv(cin, width, 3, stride, 1);
      conv(width, width, 3, 1, 1);
      if (stride !== 1 || cin !== width) { const [h1, w1] = [h, w]; h = h0; w = w0; conv(cin, width, 1, stride, 0); h = h1; w = w1; }
      cin = width;
    }
  }
  return flops;
}

/** Forward + backward ~ 3x the forward multiply-adds (input-gradient and weight-gradient passes). */
const STEP_FLOPS_PER_SAMPLE = 3 * (resnet18Flops(1, 128, 128) + resnet18Flops(3, 112, 112));

function matmulPeak(): number {
  const n = 2048;
  const a = randn([n, n], { device: device as Device }), b = randn([n, n], { device: device as Device });
  const reps = device === 'cpu' ? 1 : 20;
  // .item() waits for the device; on CUDA the products are queued and timed together.
  const run = (): void => tidy(() => { let c = ops.mm(a, b); for (let r = 1; r < reps; r++) c = ops.mm(a, b); c.sum().item(); });
  run();
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    run();
    times.push((performance.now() - t0) / 1000 / reps);
  }
  return (2 * n ** 3) / median(times) / 1e9;
}

setNumThreads(threads);
log(`engine bench on ${device}: ${threads} threads, ${steps} timed steps after ${warmup} warm-up, batches ${batches.join(', ')}`);
const peak = matmulPeak();
log(`float32 matmul peak (2048^3, ${device === 'cpu' ? `${threads} threads` : device}): ${peak.toFixed(1)} GFLOP/s`);
const results: Record<string, unknown>[] = [];
for (const batch of batches) {
  const m: Partial<Record<MemoryFormat, number>> = {};
  const t: Partial<Record<MemoryFormat, number>> = {};
  // Interleaved, so that drift in machine load hits both sides alike.
  for (const f of FORMATS) {
    t[f] = torchSps(batch, f);
    m[f] = mmgapSps(batch, f);
    log(`  batch ${batch} ${f.padEnd(13)} mmgap ${m[f]?.toFixed(2)} samples/s   PyTorch ${t[f]?.toFixed(2)} samples/s`);
  }
  const best = (r: Partial<Record<MemoryFormat, number>>): [MemoryFormat, number] =>
    (Object.entries(r) as [MemoryFormat, number][]).sort((x, y) => y[1] - x[1])[0] as [MemoryFormat, number];
  const [mf, ms] = best(m);
  const [tf, ts] = best(t);
  const gflops = (ms * STEP_FLOPS_PER_SAMPLE) / 1e9;
  results.push({ batch, mmgap_sps: ms, mmgap_format: mf, torch_sps: ts, torch_format: tf, ratio: ms / ts,
    mmgap_gflops: gflops, torch_gflops: (ts * STEP_FLOPS_PER_SAMPLE) / 1e9, mmgap_by_format: m, torch_by_format: t });
  log(`batch ${batch}: mmgap ${ms.toFixed(2)} (${mf}) vs PyTorch ${ts.toFixed(2)} (${tf}) samples/s -> ratio ${(ms / ts).toFixed(3)}; ` +
    `${gflops.toFixed(0)} GFLOP/s = ${((100 * gflops) / peak).toFixed(0)} % of matmul peak`);
}
const first = results[0] as { mmgap_sps: number; torch_sps: number; ratio: number };
if (!json) {
  // Without --json, the table also goes to stdout (Markdown, for docs/RESULTS.md).
  console.log('| batch | mmgap samples/s (format) | PyTorch samples/s (format) | ratio | mmgap GFLOP/s |');
  console.log('|---|---|---|---|---|');
  for (const r of results as { batch: number; mmgap_sps: number; mmgap_format: string; torch_sps: number; torch_format: string; ratio: number; mmgap_gflops: number }[]) {
    console.log(`| ${r.batch} | ${r.mmgap_sps.toFixed(2)} (${r.mmgap_format}) | ${r.torch_sps.toFixed(2)} (${r.torch_format}) | ${r.ratio.toFixed(3)} | ${r.mmgap_gflops.toFixed(0)} |`);
  }
}
console.log(JSON.stringify({
  mmgap_sps: first.mmgap_sps, torch_sps: first.torch_sps, ratio: first.ratio, batch: 32, device, threads, steps,
  matmul_peak_gflops: peak, step_gflop_per_sample: STEP_FLOPS_PER_SAMPLE / 1e9, results,
}));
