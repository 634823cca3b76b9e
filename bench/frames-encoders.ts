/**
 * Which encoder `auto` gives a `frames` modality (issue #29.5), chosen on VALIDATION across
 * frames workloads of different kinds:
 *   moving  synthetic, the class in the frames' order (bench/moving-frames.ts)
 *   fsdd    real speech: FSDD spectrogram slices over time, ragged (bench/fsdd-frames.ts)
 *   mnist   real images whose frame order carries no signal (bench/mnist-frames.ts)
 * Each trains joint (every other setting at its default) with the frames modality encoded by the
 * pooled per-frame CNN (small-cnn) or in order (small-cnn+gru, small-cnn+seq-cnn), over the seeds.
 *
 * The rule, fixed before any test number was seen (chooseFramesEncoder): V[w][e] is the mean over
 * seeds of the selected epoch's validation accuracy (fused head) of encoder e on workload w. An
 * ordered encoder replaces small-cnn only if it is not below small-cnn on any workload and above
 * it on at least one; of several such, the highest mean of V over the workloads wins (a tie goes
 * to the earlier in ENCODERS). Test accuracy is reported, never used.
 *
 * Options: node dist/bench/frames-encoders.js --help. Data and runs go under --out (outside the
 * repository: the real workloads derive from ../shared).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ConfigInput } from '../src/train/config.js';
import type { RunSummary, SplitScores } from '../src/train/types.js';
import { benchArgs } from './args.js';
import { writeFsddFrames } from './fsdd-frames.js';
import { writeMnistFrames } from './mnist-frames.js';
import { writeMovingFrames } from './moving-frames.js';
import { runJobs } from './run-jobs.js';

export const POOLED = 'small-cnn';
export const ENCODERS = [POOLED, 'small-cnn+seq-cnn', 'small-cnn+gru'] as const;
type Encoder = (typeof ENCODERS)[number];

interface Workload { frames: string; write: (dir: string) => Promise<unknown> }
const WORKLOADS: Record<string, Workload> = {
  moving: { frames: 'visual', write: async (dir) => writeMovingFrames(dir) },
  fsdd: { frames: 'speech', write: (dir) => writeFsddFrames(dir) },
  mnist: { frames: 'visual', write: (dir) => writeMnistFrames(dir) },
};

/** Mean validation accuracy by workload, then encoder. */
export type ValTable = Record<string, Partial<Record<Encoder, number>>>;

/** The module's rule (see the header): the encoder `auto` should give frames, from validation only. */
export function chooseFramesEncoder(v: ValTable): Encoder {
  const workloads = Object.keys(v);
  const at = (w: string, e: Encoder): number => {
    const x = v[w]![e];
    if (x === undefined) throw new Error(`chooseFramesEncoder: no validation accuracy for ${e} on ${w}`);
    return x;
  };
  const EPS = 1e-9;
  const mean = (e: Encoder): number => workloads.reduce((a, w) => a + at(w, e), 0) / workloads.length;
  let best: Encoder = POOLED;
  for (const e of ENCODERS.slice(1)) {
    const notBelow = workloads.every((w) => at(w, e) >= at(w, POOLED) - EPS);
    const above = workloads.some((w) => at(w, e) > at(w, POOLED) + EPS);
    if (notBelow && above && (best === POOLED || mean(e) > mean(best) + EPS)) best = e;
  }
  return best;
}

interface Row { workload: string; seed: number; encoder: Encoder; bestEpoch: number; val: SplitScores; test: SplitScores; wallSeconds: number; peakRssMb: number | null }

/** The largest resident size any epoch of the run recorded (metrics.jsonl), in MiB. */
function peakRss(dir: string): number | null {
  const rss = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').split('\n').filter(Boolean)
    .map((l) => (JSON.parse(l) as { memory?: { maxRss: number } }).memory?.maxRss ?? 0);
  const max = Math.max(0, ...rss);
  return max > 0 ? max / 2 ** 20 : null;
}

const pct = (x: number): string => (100 * x).toFixed(1);
const heads = (s: SplitScores): string => Object.entries(s.modality).map(([m, x]) => `${m} ${pct(x.acc)}`).join(', ');

async function main(): Promise<void> {
  const opts = benchArgs('Usage: node dist/bench/frames-encoders.js [options]', {
    workloads: { kind: 'strings', default: Object.keys(WORKLOADS), choices: Object.keys(WORKLOADS), help: 'the frames workloads' },
    seeds: { kind: 'ints', min: 0, default: [0, 1], help: 'seeds' },
    jobs: { kind: 'int', default: 2, help: 'runs at a time (each with one libtorch thread)' },
    out: { kind: 'string', default: 'bench-out/frames-encoders', help: 'output folder (data under DIR/data)' },
    json: { kind: 'flag', help: 'only the JSON line on stdout' },
  });
  const out = resolve(opts.out);
  const log = (s: string): void => { process.stderr.write(s + '\n'); };
  const jobs = opts.workloads.flatMap((w) => {
    const data = join(out, 'data', w);
    return opts.seeds.flatMap((seed) => ENCODERS.map((encoder) => ({
      workload: w, seed, encoder, data, dir: join(out, w, encoder.replace('+', '-'), `seed${seed}`),
      config: { data: `folder:${data}`, method: 'joint', encoder: `${WORKLOADS[w]!.frames}=${encoder}`, threads: 1, diagnose: 'selected', seed } as ConfigInput,
    })));
  });
  for (const w of opts.workloads) {
    const data = join(out, 'data', w);
    if (!existsSync(join(data, 'manifest.csv'))) {
      log(`writing workload ${w} into ${data}`);
      await WORKLOADS[w]!.write(data);
    }
  }
  await runJobs(jobs.map((j) => ({ name: `${j.workload} ${j.encoder} seed ${j.seed}`, dir: j.dir, config: j.config })), { jobs: opts.jobs, cacheDir: join(out, 'feature-cache'), log });

  const rows: Row[] = jobs.map((j) => {
    const s = JSON.parse(readFileSync(join(j.dir, 'summary.json'), 'utf8')) as RunSummary;
    return { workload: j.workload, seed: j.seed, encoder: j.encoder, bestEpoch: s.bestEpoch, val: s.val, test: s.test, wallSeconds: s.wallSeconds, peakRssMb: peakRss(j.dir) };
  });
  const meanOf = (w: string, e: Encoder, f: (r: Row) => number): number => {
    const rs = rows.filter((r) => r.workload === w && r.encoder === e);
    return rs.reduce((a, r) => a + f(r), 0) / rs.length;
  };
  const val: ValTable = Object.fromEntries(opts.workloads.map((w) => [w, Object.fromEntries(ENCODERS.map((e) => [e, meanOf(w, e, (r) => r.val.acc)]))]));
  const test: ValTable = Object.fromEntries(opts.workloads.map((w) => [w, Object.fromEntries(ENCODERS.map((e) => [e, meanOf(w, e, (r) => r.test.acc)]))]));
  const chosen = chooseFramesEncoder(val);
  if (!opts.json) {
    const lines = ['| workload | seed | encoder | epoch | val % | val heads | test % | test heads | wall s | peak RSS MiB |', '|---|---|---|---|---|---|---|---|---|---|'];
    for (const r of rows) {
      lines.push(`| ${r.workload} | ${r.seed} | ${r.encoder} | ${r.bestEpoch} | ${pct(r.val.acc)} | ${heads(r.val)} | ${pct(r.test.acc)} | ${heads(r.test)} | ${r.wallSeconds.toFixed(0)} | ${r.peakRssMb?.toFixed(0) ?? '-'} |`);
    }
    lines.push('', `| mean over seeds ${opts.seeds.join(', ')} | ${ENCODERS.map((e) => `${e} val / test %`).join(' | ')} |`, `|---|${ENCODERS.map(() => '---').join('|')}|`);
    for (const w of opts.workloads) lines.push(`| ${w} | ${ENCODERS.map((e) => `${pct(val[w]![e]!)} / ${pct(test[w]![e]!)}`).join(' | ')} |`);
    lines.push('', `auto for frames by the validation rule: ${chosen}`);
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  console.log(JSON.stringify({ out, seeds: opts.seeds, workloads: opts.workloads, chosen, val, test, rows }));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
