/**
 * A TrainerApi without libtorch: trainRun writes a fabricated run directory (see run-fixture.ts)
 * and reports a few events, so the CLI can be tested end to end in milliseconds.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineMethod, type MethodFactory } from '../../../src/methods/method.js';
import type { TrainerApi } from '../../../src/cli/trainer.js';
import type { RunConfig, RunOptions, RunSummary } from '../../../src/train/types.js';
import { PURIFY_DEFAULTS } from '../../../src/train/config.js';
import { writeRunFixture } from '../../report/helpers/run-fixture.js';

function factory(name: string, options: Record<string, number>, sharedWarmup = false): MethodFactory {
  return defineMethod({
    name,
    summary: `${name} (fake)`,
    options: Object.fromEntries(Object.entries(options).map(([k, v]) => [k, { type: 'number', default: v, min: 0, help: `${k} (fake)` } as const])),
    sharedWarmup,
    build: () => ({ name, loss: () => { throw new Error('fake method'); } }),
  });
}

export const FAKE_METHODS = [factory('joint', {}), factory('gmm-adaptive', { beta: 1, kappa: 1 }, true)];

export interface FakeTrainer extends TrainerApi {
  /** Every trainRun call, in order. */
  calls: { config: RunConfig; opts: RunOptions }[];
}

/** `during` runs inside trainRun after the first events (e.g. to press Ctrl-C and wait for the abort). */
export function fakeTrainer(during?: (opts: RunOptions) => Promise<void>): FakeTrainer {
  const readSummary = (dir: string): RunSummary => JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as RunSummary;
  const fake: FakeTrainer = {
    calls: [],
    methods: FAKE_METHODS,
    isConfigError: () => false,
    async trainRun(config, opts) {
      fake.calls.push({ config, opts });
      opts.onEvent?.({ kind: 'phase', phase: 'training', total: config.epochs });
      opts.onEvent?.({ kind: 'step', epoch: 0, epochs: config.epochs, stage: 'warmup', step: 1, steps: 10, loss: 2.3 });
      await during?.(opts);
      if (opts.signal?.aborted) throw new Error('stopped during epoch 1');
      // Distinct accuracies per method and seed, so aggregation is visible in tables.
      writeRunFixture(opts.outDir, { config, testAcc: (config.method === 'joint' ? 0.8 : 0.86) + 0.01 * config.seed });
      opts.onEvent?.({ kind: 'log', line: `epoch ${config.epochs}/${config.epochs} done` });
      return readSummary(opts.outDir);
    },
    async evaluateRun(outDir, split) {
      const s = readSummary(outDir);
      return { split, epoch: s.bestEpoch, scores: s.test, confusion: s.confusion, classes: s.classes };
    },
    async diagnoseRun(outDir, split) {
      const s = readSummary(outDir);
      return {
        split,
        epoch: s.bestEpoch,
        gmm: { on: 'signed', means: [0, 0.6], variances: [0.01, 0.02], weights: [0.8, 0.2], balanced: 0, bic1: 10, bic2: 5, imbalanced: true, shareImbalanced: 0.2, auroc: 0.9 },
        samples: [
          { id: 'a', label: 1, gap: 0.7, gamma: 0.9, dominant: 'audio', corrupted: true, pred: { fused: 1, modality: { audio: 1, visual: 0 } } },
          { id: 'b', label: 2, gap: 0.01, gamma: 0.05, dominant: 'visual', corrupted: false, pred: { fused: 2, modality: { audio: 0, visual: 2 } } },
        ],
      };
    },
    async purifyRun(outDir, config) {
      const s = readSummary(outDir);
      return { ...s, purification: { config: { ...PURIFY_DEFAULTS, ...config }, keptFraction: 0.8, kept: 8, total: 10, removedCorruptedShare: 0.5, before: s.test, after: s.test, beforeVal: s.val, afterVal: s.val, selectedEpoch: s.bestEpoch + 1 } };
    },
  };
  return fake;
}
