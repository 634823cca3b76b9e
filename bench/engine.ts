/**
 * Engine speed against PyTorch: trains the same audio-visual model (ResNet18 audio encoder on
 * 1x128x128, ResNet18 visual encoder on 3x112x112, concat fusion, SGD with momentum) in mmgap and
 * in PyTorch (Debian's python3-torch, bench/engine_torch.py) in one run, with the same threads,
 * at batch 32 and 64, each in both memory formats (contiguous, channels_last); each side is
 * credited with its faster format. Also measures the machine's float32 matmul peak and the
 * achieved GFLOP/s of a training step.
 *
 * With --precision bf16 (or fp16 on CUDA) both sides train under autocast (fp16 with dynamic loss
 * scaling: mmgap's GradScaler, PyTorch's torch.cuda.amp.GradScaler), and each side is also timed in
 * fp32 in the same run, interleaved: fp32_sps is mmgap's fp32 figure, speedup mmgap's
 * reduced-precision / fp32 ratio, torch_speedup PyTorch's own (the bound to report beside it).
 *
 * Every configuration of either side is measured in a fresh process (node for mmgap, python for
 * PyTorch). mmgap stores tensors through its caching CPU allocator (native/src/cpu_allocator.cc),
 * PyTorch through glibc with its defaults, as a user runs it; `MMGAP_MALLOC=system npm run
 * bench:engine` runs mmgap on glibc's defaults too.
 *
 * With --rounds N the whole interleaved measurement is repeated N times: each figure is the median
 * over the rounds, and each batch's row lists every round's ratio (round_ratios) with their
 * geometric mean and its 95 % t-interval (ratio_interval: [mean, low, high]; speedup_interval and
 * torch_speedup_interval likewise for each side's per-round reduced-precision / fp32 ratio).
 * --formats channels_last times one memory format only (both sides then use it). Each row also
 * gives both sides' minor page faults per timed step (mmgap_faults_per_step, torch_faults_per_step:
 * a heap that has not settled yet faults fresh pages, which costs time on some machines; §2.1).
 *
 * Options: npm run bench:engine -- --help.
 * Last stdout line (with --json: the only one): a JSON object with mmgap_sps, torch_sps and ratio
 * (mmgap / PyTorch) for the first batch size (32 by default; and fp32_sps with --precision), and per-batch details.
 */
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { nn, optim, randn, randint, setNumThreads, manualSeed, tidy, ops, withPrecision, checkPrecision, precisionSlowdown, cpuFlags, GradScaler, PRECISIONS, cpuAllocator,
  type Device, type MemoryFormat, type Precision } from '../src/torch/index.js';
import { AudioVisual, INPUT_FORMATS, timedSteps } from './engine-model.js';
import { median, ratioInterval95 } from './stats.js';
import { lastJsonLine } from './child.js';
import { benchArgs } from './args.js';

const PYTHON = process.env.MMGAP_PYTHON ?? '/usr/bin/python3';
const opts = benchArgs('Usage: npm run bench:engine -- [options]', {
  json: { kind: 'flag', help: 'only the JSON line on stdout' },
  quick: { kind: 'flag', help: 'batch 32 only, 3 timed steps after 1 warm-up' },
  precision: { kind: 'string', choices: PRECISIONS, default: 'fp32', help: 'both sides under autocast to this precision (fp32 timed too, interleaved)' },
  device: { kind: 'string', default: 'cpu', help: 'cpu or cuda' },
  batches: { kind: 'ints', help: 'batch sizes (default 32,64; 32 with --quick)' },
  formats: { kind: 'strings', choices: INPUT_FORMATS, default: INPUT_FORMATS, help: 'memory formats to time; each side is credited with its faster one' },
  steps: { kind: 'int', help: 'timed steps per measurement (default 8; 3 with --quick)' },
  warmup: { kind: 'int', min: 0, help: 'untimed steps before them (default 2; 1 with --quick)' },
  rounds: { kind: 'int', default: 1, help: 'repeat the interleaved measurement; medians and a 95 % interval of the ratios' },
  threads: { kind: 'int', default: availableParallelism(), help: 'intra-op threads of both sides' },
  measureOne: { kind: 'string', internal: true, help: 'batch,format,precision: measure one configuration in this process' },
});
const { json, quick, device, threads, rounds } = opts;
const precision = opts.precision as Precision;
checkPrecision(precision, device);
// A bf16 benchmark on a CPU without bf16 kernels would time libtorch's reference loops for hours.
const slowdown = precisionSlowdown(precision, device, cpuFlags());
if (slowdown) throw new Error(slowdown);
const steps = opts.steps ?? (quick ? 3 : 8);
const warmup = opts.warmup ?? (quick ? 1 : 2);
const batches = opts.batches ?? (quick ? [32] : [32, 64]);
const FORMATS = opts.formats as readonly MemoryFormat[];
const log = (s: string): void => { process.stderr.write(s + '\n'); };

/** What a child process measures of one configuration. */
interface Measured {
  sps: number;
  /** Minor page faults per timed step (docs/RESULTS.md §2.1: a heap that has not settled faults fresh pages). */
  faults_per_step: number;
}

/** One configuration, measured in this process (the child's side of measureMmgap). */
function measureHere(batch: number, format: MemoryFormat, prec: Precision): Measured {
  manualSeed(0);
  const model = new AudioVisual().to({ memoryFormat: format, device });
  const sgd = new optim.SGD(model.parameters(), { lr: 0.01, momentum: 0.9, weightDecay: 1e-4 });
  const on = { device: device as Device };
  const a = randn([batch, 1, 128, 128], on).contiguous(format);
  const v = randn([batch, 3, 112, 112], on).contiguous(format);
  const y = randint(0, 10, [batch], on);
  const scaler = prec === 'fp16' ? new GradScaler() : null;
  const step = (): void => tidy(() => {
    sgd.zeroGrad();
    const loss = withPrecision(prec, device, () => nn.F.crossEntropy(model.forward(a, v), y));
    if (scaler) {
      scaler.scaleLoss(loss).backward();
      scaler.step(sgd);
      scaler.update();
    } else {
      loss.backward();
      sgd.step();
    }
    loss.item();
  });
  timedSteps(step, warmup, 0);
  const faults0 = process.resourceUsage().minorPageFault;
  const times = timedSteps(step, 0, steps);
  return { sps: batch / median(times), faults_per_step: (process.resourceUsage().minorPageFault - faults0) / steps };
}

/**
 * Samples/s that a child process prints as `sps` in its last line. Both sides' children get the
 * allocator policy through the environment, from their start (for mmgap's, rather than from the
 * addon's mallopt calls at load, which come after node's own start).
 */
function measureChild(file: string, childArgs: string[]): Measured {
  return lastJsonLine<Measured>(file, childArgs);
}

/**
 * Each configuration is measured in a fresh node process, as each of PyTorch's runs in a fresh
 * python process, so that the two sides start every measurement alike (a process shared by all of
 * mmgap's configurations was a suspect for its drift across rounds; docs/RESULTS.md §2.1).
 */
function measureMmgap(batch: number, format: MemoryFormat, prec: Precision): Measured {
  return measureChild(process.execPath, [fileURLToPath(import.meta.url), '--measure-one', `${batch},${format},${prec}`,
    '--steps', String(steps), '--warmup', String(warmup), '--threads', String(threads), '--device', device]);
}

function measureTorch(batch: number, format: MemoryFormat, prec: Precision): Measured {
  return measureChild(PYTHON, [fileURLToPath(new URL('../../bench/engine_torch.py', import.meta.url)), '--batch', String(batch), '--steps', String(steps),
    '--warmup', String(warmup), '--threads', String(threads), '--format', format, '--device', device, '--precision', prec]);
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

function main(): void {
  log(`engine bench on ${device} in ${precision} (CPU allocator ${cpuAllocator}): ${threads} threads, ${steps} timed steps after ${warmup} warm-up, batches ${batches.join(', ')}`);
  const peak = matmulPeak();
  log(`float32 matmul peak (2048^3, ${device === 'cpu' ? `${threads} threads` : device}): ${peak.toFixed(1)} GFLOP/s`);
  const results: Record<string, unknown>[] = [];
  type ByFormat = Partial<Record<MemoryFormat, number>>;
  /** One round of one side: what each (precision, format) measured. */
  type Round = Partial<Record<Precision, Partial<Record<MemoryFormat, Measured>>>>;
  const spsOf = (r: Round, p: Precision): ByFormat => Object.fromEntries(Object.entries(r[p] ?? {}).map(([f, x]) => [f, x.sps]));
  const best = (r: ByFormat): [MemoryFormat, number] =>
    (Object.entries(r) as [MemoryFormat, number][]).sort((x, y) => y[1] - x[1])[0] as [MemoryFormat, number];
  // With a reduced precision, fp32 is timed too (in the same run, interleaved) for the speed-ups.
  const precisions: Precision[] = precision === 'fp32' ? ['fp32'] : [precision, 'fp32'];
  for (const batch of batches) {
    // Every (side, precision, format) measured once a round, interleaved, so that drift in machine
    // load hits both sides alike; with --rounds > 1 each figure is the median over the rounds, and
    // round_ratios the ratio of each round's best figures (this VM moves by 20 % between minutes).
    const mRounds: Round[] = [];
    const tRounds: Round[] = [];
    for (let r = 0; r < rounds; r++) {
      const m: Round = {};
      const t: Round = {};
      for (const f of FORMATS) {
        for (const p of precisions) {
          // The sides take turns at going first, round by round, so that whatever the first of
          // two back-to-back processes leaves behind (page cache, the host's memory state) falls
          // on both alike.
          const torchFirst = r % 2 === 0;
          const tFirst = torchFirst ? measureTorch(batch, f, p) : null;
          const mm = measureMmgap(batch, f, p);
          const tm = tFirst ?? measureTorch(batch, f, p);
          const [ms, ts] = [mm.sps, tm.sps];
          (m[p] ??= {})[f] = mm;
          (t[p] ??= {})[f] = tm;
          log(`  batch ${batch}${rounds > 1 ? ` round ${r + 1}` : ''} ${p} ${f.padEnd(13)} mmgap ${ms.toFixed(2)} samples/s   PyTorch ${ts.toFixed(2)} samples/s${torchFirst ? '' : ' (mmgap first)'}` +
            `   page faults/step ${mm.faults_per_step.toFixed(0)} / ${tm.faults_per_step.toFixed(0)}`);
        }
      }
      mRounds.push(m);
      tRounds.push(t);
    }
    const overRounds = (per: Round[]): Partial<Record<Precision, ByFormat>> =>
      Object.fromEntries(precisions.map((p) => [p, Object.fromEntries(FORMATS.map((f) => [f, median(per.map((x) => x[p]?.[f]?.sps as number))]))]));
    const faultsOf = (per: Round[], f: MemoryFormat): number => median(per.map((x) => x[precision]?.[f]?.faults_per_step as number));
    const m = overRounds(mRounds);
    const t = overRounds(tRounds);
    const roundRatios = mRounds.map((x, r) => best(spsOf(x, precision))[1] / best(spsOf(tRounds[r] as Round, precision))[1]);
    const [mf, ms] = best(m[precision] as ByFormat);
    const [tf, ts] = best(t[precision] as ByFormat);
    const gflops = (ms * STEP_FLOPS_PER_SAMPLE) / 1e9;
    const row: Record<string, unknown> = { batch, precision, mmgap_sps: ms, mmgap_format: mf, torch_sps: ts, torch_format: tf, ratio: ms / ts,
      mmgap_gflops: gflops, torch_gflops: (ts * STEP_FLOPS_PER_SAMPLE) / 1e9, mmgap_by_format: m[precision], torch_by_format: t[precision],
      // Medians over the rounds, of each side's reported format.
      mmgap_faults_per_step: faultsOf(mRounds, mf), torch_faults_per_step: faultsOf(tRounds, tf),
      ...(rounds > 1 && { round_ratios: roundRatios, ratio_interval: ratioInterval95(roundRatios) }) };
    const interval = (xs: number[]): string => { const [g, lo, hi] = ratioInterval95(xs); return `geometric mean ${g.toFixed(3)} [95 % CI ${lo.toFixed(3)}, ${hi.toFixed(3)}]`; };
    log(`batch ${batch} ${precision}: mmgap ${ms.toFixed(2)} (${mf}) vs PyTorch ${ts.toFixed(2)} (${tf}) samples/s -> ratio ${(ms / ts).toFixed(3)}` +
      `${rounds > 1 ? ` (medians of ${rounds} rounds; the rounds' ratios ${roundRatios.map((x) => x.toFixed(3)).join(', ')}: ${interval(roundRatios)})` : ''}; ` +
      `${gflops.toFixed(0)} GFLOP/s = ${((100 * gflops) / peak).toFixed(0)} % of fp32 matmul peak`);
    if (precision !== 'fp32') {
      const [, m32] = best(m.fp32 as ByFormat);
      const [, t32] = best(t.fp32 as ByFormat);
      // Each round's own speed-up (its best reduced-precision figure over its best fp32 one).
      const roundSpeedups = (per: Round[]): number[] => per.map((x) => best(spsOf(x, precision))[1] / best(spsOf(x, 'fp32'))[1]);
      Object.assign(row, { fp32_sps: m32, torch_fp32_sps: t32, speedup: ms / m32, torch_speedup: ts / t32, mmgap_fp32_by_format: m.fp32, torch_fp32_by_format: t.fp32,
        ...(rounds > 1 && { speedup_interval: ratioInterval95(roundSpeedups(mRounds)), torch_speedup_interval: ratioInterval95(roundSpeedups(tRounds)) }) });
      log(`batch ${batch} ${precision} / fp32: mmgap ${(ms / m32).toFixed(2)}x (${m32.toFixed(2)} samples/s in fp32), PyTorch ${(ts / t32).toFixed(2)}x (${t32.toFixed(2)})` +
        `${rounds > 1 ? `; per round: mmgap ${interval(roundSpeedups(mRounds))}, PyTorch ${interval(roundSpeedups(tRounds))}` : ''}`);
    }
    results.push(row);
  }
  const first = results[0] as { mmgap_sps: number; torch_sps: number; ratio: number; fp32_sps?: number; torch_fp32_sps?: number; speedup?: number; torch_speedup?: number };
  if (!json) {
    // Without --json, the table also goes to stdout (Markdown, for docs/RESULTS.md).
    console.log('| batch | mmgap samples/s (format) | PyTorch samples/s (format) | ratio | mmgap GFLOP/s |');
    console.log('|---|---|---|---|---|');
    for (const r of results as { batch: number; mmgap_sps: number; mmgap_format: string; torch_sps: number; torch_format: string; ratio: number; mmgap_gflops: number }[]) {
      console.log(`| ${r.batch} | ${r.mmgap_sps.toFixed(2)} (${r.mmgap_format}) | ${r.torch_sps.toFixed(2)} (${r.torch_format}) | ${r.ratio.toFixed(3)} | ${r.mmgap_gflops.toFixed(0)} |`);
    }
  }
  console.log(JSON.stringify({
    mmgap_sps: first.mmgap_sps, torch_sps: first.torch_sps, ratio: first.ratio,
    ...(precision !== 'fp32' && { fp32_sps: first.fp32_sps, speedup: first.speedup, torch_fp32_sps: first.torch_fp32_sps, torch_speedup: first.torch_speedup }),
    precision, batch: batches[0], device, threads, steps, rounds, malloc: cpuAllocator,
    matmul_peak_gflops: peak, step_gflop_per_sample: STEP_FLOPS_PER_SAMPLE / 1e9, results,
  }));
}

setNumThreads(threads);
if (opts.measureOne !== undefined) {
  const [b, f, p] = opts.measureOne.split(',');
  console.log(JSON.stringify(measureHere(Number(b), f as MemoryFormat, p as Precision)));
} else {
  main();
}
