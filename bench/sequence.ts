/**
 * The real-data check of sequence modalities (issue #10): the avdigits clips (FSDD speech, MNIST
 * images, regime `underuse`, the speaker-independent folds) written out twice in the generic
 * folder format, the way a user would bring their own features:
 *   image     audio as the fixed [1, 40, 48] log-mel image avdigits trains on (0.97 s windows,
 *             centre-cropped or zero-padded), encoded by the small CNN;
 *   sequence  audio as the whole clip's log-mel frames [T, 40], T from the clip's length
 *             (ragged: padded and masked in a batch), encoded by seq-cnn (and gru for joint).
 * Both keep the same per-utterance CMVN and the same noisy waveform, and the same visual images;
 * both are standardised per feature on the training split (`normalize: auto`). Each row is
 * compared with `image: joint` (or --reference) on the same test samples (95 % paired bootstrap interval, McNemar).
 *
 * Options: npm run bench:sequence -- --help.
 * The exported datasets stay under DIR/data (outside the repository: derived from ../shared).
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { AVDIGITS_REGIMES, decodeWav, fsddLogMelFrames, openDataset, Rng, SPLITS, toMono, writeNpy, type Dataset } from '../src/data/index.js';
import { degradeAudio } from '../src/data/datasets/avdigits-effects.js';
import { aggregateBench, benchEntries, benchJsonRows, benchMarkdown, writeBenchOutputs, type BenchEntry } from '../src/report/bench-table.js';
import type { RunSummary } from '../src/train/types.js';
import type { ConfigInput } from '../src/train/config.js';
import { METHODS } from '../src/methods/registry.js';
import { benchOverrides, methodRows } from './method-rows.js';
import { runJobs } from './run-jobs.js';
import { benchArgs } from './args.js';

const opts = benchArgs('Usage: npm run bench:sequence -- [options]', {
  json: { kind: 'flag', help: 'only the JSON line on stdout' },
  folds: { kind: 'ints', min: 0, default: [0, 1, 2], help: 'folds' },
  seeds: { kind: 'ints', min: 0, default: [0], help: 'seeds' },
  jobs: { kind: 'int', default: availableParallelism(), help: 'runs at a time' },
  out: { kind: 'string', default: 'bench-out/sequence', help: 'output folder' },
  reference: { kind: 'string', default: 'image: joint', help: 'the row every other is compared with (a row label, e.g. "sequence (seq-cnn): gmm-adaptive")' },
  methods: { kind: 'strings', help: 'more rows: these registered methods on the sequence form (seq-cnn), with the settings of their bench:methods rows (bench/method-rows.ts)' },
});
const { folds, seeds, jobs } = opts;
const out = resolve(opts.out);
const log = (s: string): void => { process.stderr.write(s + '\n'); };
const REGIME = 'underuse';

/** Per-band standardisation over the clip's frames, as avdigits' CMVN, on time-major [T, bands]. */
function cmvnFrames(x: Float32Array, bands: number): void {
  const t = x.length / bands;
  for (let b = 0; b < bands; b++) {
    let m = 0;
    for (let i = 0; i < t; i++) m += x[i * bands + b]!;
    m /= t;
    let v = 0;
    for (let i = 0; i < t; i++) v += (x[i * bands + b]! - m) ** 2;
    const sd = Math.sqrt(v / t) + 1e-5;
    for (let i = 0; i < t; i++) x[i * bands + b] = (x[i * bands + b]! - m) / sd;
  }
}

/** Writes fold `fold` as two folder datasets (image, sequence); skipped when already complete. */
async function exportFold(fold: number): Promise<{ image: string; sequence: string }> {
  const root = join(out, 'data', `fold${fold}`);
  const dirs = { image: join(root, 'image'), sequence: join(root, 'sequence') };
  if (existsSync(join(dirs.image, 'manifest.csv')) && existsSync(join(dirs.sequence, 'manifest.csv'))) return dirs;
  const ds: Dataset = await openDataset('avdigits', { regime: REGIME, folds: 3, fold });
  const effects = AVDIGITS_REGIMES[REGIME];
  if (effects.audioNorm !== 'cmvn') throw new Error('bench:sequence assumes the underuse regime\'s CMVN');
  for (const d of Object.values(dirs)) for (const m of ['audio', 'visual']) mkdirSync(join(d, m), { recursive: true });
  const lines = ['id,label,split'];
  let done = 0;
  for (const split of SPLITS) {
    for (const s of ds.samples(split)) {
      lines.push(`${s.id},${ds.classes[s.label]},${split}`);
      const f = await ds.load(s, { train: false, seed: 0, epoch: 0 });
      writeFileSync(join(dirs.image, 'audio', `${s.id}.npy`), writeNpy(f.audio!, [1, 40, 48]));
      for (const d of Object.values(dirs)) writeFileSync(join(d, 'visual', `${s.id}.npy`), writeNpy(f.visual!, [1, 28, 28]));
      // the waveform avdigits' audio feature starts from: the clip with its seeded noise
      const file = String(s.meta!.file);
      const wav = decodeWav(await readFile(file), file);
      const wave = degradeAudio(toMono(wav), effects, new Rng(0, 'audio-noise', s.id));
      const seq = fsddLogMelFrames(wave, wav.sampleRate);
      cmvnFrames(seq.data, 40);
      writeFileSync(join(dirs.sequence, 'audio', `${s.id}.npy`), writeNpy(seq.data, [seq.frames, 40]));
      if (++done % 500 === 0) log(`  fold ${fold}: ${done} samples exported`);
    }
  }
  // the manifests last, each renamed into place: a fold with a manifest is complete
  for (const d of Object.values(dirs)) {
    writeFileSync(join(d, 'manifest.csv.tmp'), lines.join('\n') + '\n');
    renameSync(join(d, 'manifest.csv.tmp'), join(d, 'manifest.csv'));
  }
  return dirs;
}

interface Row { label: string; variant: 'image' | 'sequence'; config: ConfigInput }
const ROWS: Row[] = ([
  { label: 'image: joint', variant: 'image', config: { method: 'joint' } },
  { label: 'sequence (seq-cnn): joint', variant: 'sequence', config: { method: 'joint' } },
  { label: 'sequence (gru): joint', variant: 'sequence', config: { method: 'joint', encoder: 'audio=gru' } },
  { label: 'image: gmm-adaptive', variant: 'image', config: { method: 'gmm-adaptive' } },
  { label: 'sequence (seq-cnn): gmm-adaptive', variant: 'sequence', config: { method: 'gmm-adaptive' } },
  // Registry-driven rows on request (issues #29, #30): the method's bench:methods rows, purification left out.
  ...(opts.methods ?? []).flatMap((name) => {
    const rows = methodRows(METHODS, benchOverrides({})).filter((r) => r.config.method === name);
    if (!rows.length) throw new Error(`--methods: unknown method "${name}" (registered: ${METHODS.map((m) => m.name).join(', ')})`);
    return rows.map((r): Row => ({ label: `sequence (seq-cnn): ${r.label}`, variant: 'sequence', config: { ...r.config, purify: null } }));
  }),
] as Row[]).filter((r, i, all) => all.findIndex((x) => x.label === r.label) === i);
const reference = opts.reference;
if (!ROWS.some((r) => r.label === reference)) throw new Error(`--reference: no row "${reference}" (rows: ${ROWS.map((r) => r.label).join(', ')})`);
const slug = (s: string): string => s.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '').toLowerCase();

const started = performance.now();
log(`bench:sequence into ${out}`);
const data = new Map<number, { image: string; sequence: string }>();
for (const fold of folds) data.set(fold, await exportFold(fold));
const todo = ROWS.flatMap((r) => seeds.flatMap((seed) => folds.map((fold) => ({
  row: r, seed, fold,
  dir: join(out, slug(r.label), `seed${seed}-fold${fold}`),
  config: { data: `folder:${data.get(fold)![r.variant]}`, threads: jobs > 1 ? 1 : 0, diagnose: 'selected', seed, ...r.config } as ConfigInput,
}))));
await runJobs(todo.map((j) => ({ name: `${j.row.label} seed ${j.seed} fold ${j.fold}`, dir: j.dir, config: j.config })), { jobs, cacheDir: join(out, 'feature-cache'), log });

const entries: BenchEntry[] = todo.flatMap((j) => benchEntries(JSON.parse(readFileSync(join(j.dir, 'summary.json'), 'utf8')) as RunSummary, j.row.label, j.dir, String(j.fold)));
const table = aggregateBench(entries, { reference });
await writeBenchOutputs(out, table, {
  title: 'FSDD audio as a sequence [T, 40] vs as an image [1, 40, 48], with MNIST, folder format',
  reference,
  intro: `avdigits regime ${REGIME}, speaker-independent folds ${folds.join(', ')} pooled, seed(s) ${seeds.join(', ')}; best epoch on validation; ` +
    `Δ against ${reference} on the same test samples, 95 % paired bootstrap interval; ${jobs} run(s) at a time.`,
});
if (!opts.json) process.stdout.write(`${benchMarkdown(table, reference)}\n`);
console.log(JSON.stringify({ out, folds, seeds, jobs, reference, wall_s: (performance.now() - started) / 1000, rows: benchJsonRows(table) }));
