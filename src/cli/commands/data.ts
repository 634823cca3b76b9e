/** `mmgap data inspect | verify | prepare | extract`: look at a dataset, check every sample loads, build the feature cache; extract (data-extract.ts) makes one from raw videos. */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { createLoader, describeDataset, formatReport, openDataset, SPLITS, type Dataset, type SkippedSample, type Split } from '../../data/index.js';
import { duration } from '../../report/format.js';
import { checkDataSpec } from '../checks.js';
import { printResult, type CliContext } from '../context.js';
import { interruptible, resumeCommand } from '../interrupt.js';
import { collectKeyValue } from '../key-value.js';
import { Progress } from '../progress.js';
import { intArg } from '../run-flags.js';
import { UsageError } from '../errors.js';
import { DEFAULT_CONFIG } from '../../train/config.js';
import { estimateActivations, KEPT_PER_LAYER } from '../../models/activation-estimate.js';
import { registerDataExtract } from './data-extract.js';

interface DataFlags {
  data: string;
  dataOpt?: Record<string, unknown>;
  skipBadSamples?: boolean;
  workers: number;
  cacheDir?: string;
  json?: boolean;
}

function dataCommand(parent: Command, name: string, description: string, examples: string[]): Command {
  return parent
    .command(name)
    .description(description)
    .option('--data <spec>', 'dataset: avdigits | avdigits:FSDD_DIR | cremad:PATH | ave:PATH | ks:PATH | folder:PATH', 'avdigits')
    .option('--data-opt <key=value>', 'dataset option, repeatable (value parsed as JSON when possible)', collectKeyValue)
    .option('--json', 'print the result as one JSON line')
    .addHelpText('after', `\nExamples:\n${examples.map((e) => `  $ ${e}`).join('\n')}`);
}

async function open(flags: DataFlags, skipBadSamples: boolean): Promise<Dataset> {
  checkDataSpec(flags.data);
  return openDataset(flags.data, { ...flags.dataOpt, skipBadSamples });
}

/**
 * Loads every sample of every split in eval mode, once: with `cacheDir`, what is deterministic is
 * written to the disk cache on the way. Returns the samples loaded and the failures per split.
 */
async function loadAll(ctx: CliContext, ds: Dataset, flags: DataFlags, o: { cacheDir?: string; verb: string }): Promise<Record<Split, { loaded: number; bad: SkippedSample[] }>> {
  const progress = new Progress(ctx.io, flags.json === true);
  const loaders = SPLITS.map((split) =>
    createLoader(ds, split, { batchSize: 64, train: false, shuffle: false, workers: flags.workers, skipBadSamples: true, memoryCache: false, cacheDir: o.cacheDir ?? null }),
  );
  const total = loaders.reduce((a, l) => a + l.length, 0);
  const hint = o.cacheDir ? `files cached so far are kept; run the same command again: ${resumeCommand(ctx.argv)}` : 'nothing was changed';
  try {
    return await interruptible(ctx.io, progress, hint, async (signal) => {
      const out = {} as Record<Split, { loaded: number; bad: SkippedSample[] }>;
      let done = 0;
      for (const [i, split] of SPLITS.entries()) {
        let loaded = 0;
        for await (const batch of loaders[i]) {
          signal.throwIfAborted();
          loaded += batch.size;
          progress.update(++done / Math.max(1, total), `${o.verb} ${split} (${loaded}/${ds.samples(split).length})`);
        }
        out[split] = { loaded, bad: loaders[i].skipped };
      }
      return out;
    });
  } finally {
    await Promise.all(loaders.map((l) => l.close()));
  }
}

function badLines(bad: SkippedSample[]): string[] {
  return bad.map((s) => `  ${s.split ?? 'all'} ${s.id}: ${s.file}${s.line === undefined ? '' : `:${s.line}`}: ${s.reason}`);
}

export function registerData(program: Command, ctx: CliContext): void {
  const data = program
    .command('data')
    .description('inspect a dataset, verify that every sample loads, prepare its feature cache, or extract one from raw videos')
    .addHelpText('after', '\nExamples:\n  $ mmgap data inspect --data avdigits\n  $ mmgap data verify --data cremad:/data/CREMA-D\n  $ mmgap data prepare --data ks:/data/KS --cache-dir cache --workers 2');

  dataCommand(data, 'inspect', 'splits, feature shapes, class counts, corruption ground truth and the activation memory per batch of a dataset', ['mmgap data inspect --data avdigits', 'mmgap data inspect --data folder:./my-data --skip-bad-samples --json', 'mmgap data inspect --data folder:./lips --data-opt visual.length=16 --batch-size 32'])
    .option('--skip-bad-samples', 'list bad samples found while opening instead of stopping at the first')
    .option('--batch-size <n>', 'batch size of the memory estimate', intArg(1), DEFAULT_CONFIG.batchSize)
    .option('--encoder <spec>', 'encoders of the memory estimate (as `mmgap train --encoder`)', DEFAULT_CONFIG.encoder)
    .option('--width <n>', 'encoder width of the memory estimate (as `mmgap train --width`)', intArg(1), DEFAULT_CONFIG.width)
    .addHelpText('after', `
Per modality, the memory estimate is the encoder's first layer's output for one training batch
(batch size x padded steps x channels x H x W, fp32) times ${KEPT_PER_LAYER}, the tensors of that size a training step
keeps (convolution, BatchNorm and ReLU outputs, and a gradient). It is rough: it counts one layer
(the largest, for the CNNs), pads every sample to the batched length (masked frame encoders skip
padding frames, so typical batches take less), and leaves out the allocator's overhead; a step's
peak can be a few times it. Lower it with --data-opt <modality>.length=N, a smaller --batch-size or --width.`)
    .action(async (flags: DataFlags & { batchSize: number; encoder: string; width: number }) => {
      const report = describeDataset(await open(flags, flags.skipBadSamples === true));
      let estimates;
      try {
        estimates = estimateActivations(report.modalities, flags);
      } catch (e) {
        throw new UsageError(`${(e as Error).message}; fix --encoder`);
      }
      report.modalities.forEach((m, i) => {
        const a = estimates[i]!;
        m.activations = { batch_size: flags.batchSize, encoder: a.encoder, shape: a.shape, axes: a.axes, layer_bytes: a.layerBytes, bytes: a.bytes };
      });
      printResult(ctx, flags.json === true, formatReport(report).split('\n').slice(0, -1), report);
    });

  dataCommand(data, 'verify', 'load every sample of every split once and list the ones that fail (exit 1 if any)', ['mmgap data verify --data cremad:/data/CREMA-D', 'mmgap data verify --data ave:/data/AVE --workers 2 --json'])
    .option('--workers <n>', 'loader worker threads', intArg(0), 0)
    .action(async (flags: DataFlags) => {
      const t0 = Date.now();
      const result = await loadAll(ctx, await open(flags, true), flags, { verb: 'verifying' });
      const bad = SPLITS.flatMap((s) => result[s].bad);
      const lines = [
        ...SPLITS.map((s) => `${s}: ${result[s].loaded} samples load, ${result[s].bad.length} bad`),
        ...badLines(bad),
        bad.length ? `${bad.length} bad samples: fix them, or train with --skip-bad-samples to skip them (counted and reported)` : `all samples load (${duration((Date.now() - t0) / 1000)})`,
      ];
      printResult(ctx, flags.json === true, lines, { data: flags.data, ok: bad.length === 0, splits: result });
      if (bad.length) ctx.exitCode = 1;
    });

  dataCommand(data, 'prepare', 'compute every sample\'s deterministic features once into the disk cache (skips what is cached)', ['mmgap data prepare --data avdigits', 'mmgap data prepare --data ks:/data/KS --cache-dir /scratch/mmgap-cache --workers 2'])
    .option('--cache-dir <dir>', 'feature cache folder (default $MMGAP_CACHE or ./cache)')
    .option('--skip-bad-samples', 'skip samples that fail (listed) instead of stopping')
    .option('--workers <n>', 'loader worker threads', intArg(0), 0)
    .action(async (flags: DataFlags) => {
      const t0 = Date.now();
      const cacheDir = resolve(flags.cacheDir ?? ctx.io.env.MMGAP_CACHE ?? 'cache');
      const result = await loadAll(ctx, await open(flags, flags.skipBadSamples === true), flags, { cacheDir, verb: 'caching' });
      const bad = SPLITS.flatMap((s) => result[s].bad);
      const loaded = SPLITS.reduce((a, s) => a + result[s].loaded, 0);
      const lines = [`cached the features of ${loaded} samples in ${cacheDir} (${duration((Date.now() - t0) / 1000)})`, ...badLines(bad)];
      printResult(ctx, flags.json === true, lines, { data: flags.data, cacheDir, samples: loaded, bad: bad.length });
      if (bad.length && !flags.skipBadSamples) ctx.exitCode = 1;
    });

  registerDataExtract(data, ctx);
}
