/**
 * Writes a realistic run directory (config.json, metrics.jsonl, gaps/epoch-N.csv with predicted
 * classes, gaps/purification.csv when it purifies, summary.json) without training: a two-group gap distribution whose imbalanced share shrinks over epochs,
 * ground-truth corruption flags correlated with it, rising accuracies and a confusion matrix.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { histogram, SeededRandom } from '../../../src/core/index.js';
import { DEFAULT_CONFIG } from '../../../src/train/config.js';
import { RUN_FORMAT_VERSION, type EpochMetrics, type RunConfig, type RunSummary, type SplitScores } from '../../../src/train/types.js';

export interface FixtureOptions {
  config?: Partial<RunConfig>;
  /** Training samples (default 400). */
  samples?: number;
  /** Write summary.json (default true). */
  finished?: boolean;
  /** Run format version written to config.json and summary.json (default RUN_FORMAT_VERSION). */
  formatVersion?: number;
  /** Test accuracy of the summary (default 0.9); the modalities sit below it. */
  testAcc?: number;
  /** Wall time of the summary (default 42 s). */
  wallSeconds?: number;
  /** Write the pred,pred_audio,pred_visual columns (default true; false: the gaps CSV of older runs). */
  predictions?: boolean;
}

const CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

function normalPdf(x: number, mean: number, variance: number): number {
  return Math.exp(-((x - mean) ** 2) / (2 * variance)) / Math.sqrt(2 * Math.PI * variance);
}

function scores(acc: number): SplitScores {
  return { acc, f1: acc - 0.01, modality: { audio: { acc: acc - 0.04, f1: acc - 0.05 }, visual: { acc: acc - 0.35, f1: acc - 0.37 } } };
}

function confusion(acc: number, n: number): number[][] {
  return CLASSES.map((_, t) => CLASSES.map((_, p) => (t === p ? Math.round(n * acc) : Math.round((n * (1 - acc)) / 9))));
}

/** Writes the fixture into `dir` and returns the config it used. */
export function writeRunFixture(dir: string, options: FixtureOptions = {}): RunConfig {
  const config: RunConfig = { ...DEFAULT_CONFIG, epochs: 6, warmup: 2, ...options.config };
  const version = options.formatVersion ?? RUN_FORMAT_VERSION;
  const n = options.samples ?? 400;
  const rng = new SeededRandom(config.seed + 7);
  mkdirSync(join(dir, 'gaps'), { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ formatVersion: version, mmgapVersion: '0.1.0', libtorchVersion: '1.13.1', ...config }, null, 2));

  const finetune = config.purify?.epochs ?? 0;
  const metrics: EpochMetrics[] = [];
  for (let epoch = 1; epoch <= config.epochs + finetune; epoch++) {
    const stage = epoch <= config.warmup ? 'warmup' : epoch <= config.epochs ? 'main' : 'finetune';
    const progress = epoch / (config.epochs + finetune);
    const share = 0.3 - 0.2 * progress;
    const bal = { mean: 0.05, variance: 0.02 };
    const imb = { mean: 0.7 - 0.2 * progress, variance: 0.01 };
    const predictions = options.predictions ?? true;
    const lines = [`id,label,gap,gamma,dominant,corrupted${predictions ? ',pred,pred_audio,pred_visual' : ''}`];
    const keepLines = [`${lines[0]},keep`];
    const gaps: number[] = [];
    let imbalancedCount = 0;
    for (let i = 0; i < n; i++) {
      const corrupted = i % 5 === 0;
      const inImbalanced = rng.uniform() < (corrupted ? 0.9 : share / 3);
      const g = inImbalanced ? imb : bal;
      const gap = Math.max(-1, Math.min(1, g.mean + Math.sqrt(g.variance) * rng.normal()));
      const pi = (1 - share) * normalPdf(gap, bal.mean, bal.variance);
      const pj = share * normalPdf(gap, imb.mean, imb.variance);
      const gamma = pj / (pi + pj);
      if (gamma > 0.5) imbalancedCount++;
      gaps.push(gap);
      // Vision errs on corrupted samples and, with it, now and then the fused head.
      const label = i % 10;
      const wrong = (label + 1) % 10;
      const preds = predictions ? `,${corrupted && i % 3 === 0 ? wrong : label},${label},${corrupted ? wrong : label}` : '';
      lines.push(`s${i},${label},${gap.toFixed(5)},${gamma.toFixed(5)},${gap >= 0 ? 'audio' : 'visual'},${corrupted ? 1 : 0}${preds}`);
      keepLines.push(`${lines[lines.length - 1]},${gamma < (config.purify?.tau ?? 0.5) ? 1 : 0}`);
    }
    writeFileSync(join(dir, 'gaps', `epoch-${epoch}.csv`), `${lines.join('\n')}\n`);
    // Purification decides on the selected (last main-stage) model's gaps.
    if (config.purify && epoch === config.epochs) writeFileSync(join(dir, 'gaps', 'purification.csv'), `${keepLines.join('\n')}\n`);
    const h = histogram(gaps, { bins: 40, range: [-1, 1] });
    const acc = 0.5 + 0.4 * progress;
    metrics.push({
      epoch,
      stage,
      lr: config.lr,
      train: { loss: 2 * (1 - progress) + 0.1, acc: acc + 0.03, logs: { fusion: 1 - progress, gap: 0.2 } },
      val: scores(acc),
      gap: { mean: gaps.reduce((a, b) => a + b, 0) / n, std: 0.3, hist: { edges: Array.from(h.edges), counts: Array.from(h.counts) } },
      gmm: {
        on: 'signed',
        means: [bal.mean, imb.mean],
        variances: [bal.variance, imb.variance],
        weights: [1 - share, share],
        balanced: 0,
        bic1: 120 - 10 * epoch,
        bic2: 90 - 12 * epoch,
        imbalanced: true,
        shareImbalanced: imbalancedCount / n,
        auroc: 0.8 + 0.1 * progress,
      },
      method: {},
      seconds: 3.5,
    });
  }
  writeFileSync(join(dir, 'metrics.jsonl'), metrics.map((m) => JSON.stringify(m)).join('\n') + '\n');

  if (options.finished ?? true) {
    const acc = options.testAcc ?? 0.9;
    const summary: RunSummary = {
      formatVersion: version,
      mmgapVersion: '0.1.0',
      method: config.method,
      data: config.data,
      seed: config.seed,
      bestEpoch: config.epochs,
      val: scores(acc + 0.01),
      test: scores(acc),
      confusion: confusion(acc, 30),
      classes: CLASSES,
      auroc: 0.91,
      purification: config.purify
        ? {
            config: config.purify, keptFraction: 0.8, kept: 0.8 * n, total: n, removedCorruptedShare: 0.7,
            before: scores(acc), after: scores(acc + 0.02), beforeVal: scores(acc + 0.01), afterVal: scores(acc + 0.02), selectedEpoch: config.epochs + 1,
          }
        : null,
      skippedSamples: 0,
      wallSeconds: options.wallSeconds ?? 42,
      outDir: dir,
    };
    writeFileSync(join(dir, 'summary.json'), JSON.stringify(summary, null, 2));
  }
  return config;
}
