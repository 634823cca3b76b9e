/** `mmgap train`: one run into its directory, resumable, with the report at the end. */
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import type { CliContext } from '../context.js';
import { printResult } from '../context.js';
import { checkDataSpec } from '../checks.js';
import { ROLES } from '../../methods/roles.js';
import { Progress } from '../progress.js';
import { resolveRunConfig } from '../resolve-config.js';
import { addRunFlags, type RunFlagValues } from '../run-flags.js';
import { checkResumable, defaultOutDir, trainOne } from '../run-training.js';
import { summaryLines } from '../summary-lines.js';
import { launchRanks, parseNproc } from '../launch.js';

interface TrainFlags extends RunFlagValues {
  nproc?: number;
  masterPort?: number;
  out?: string;
  resume: boolean;
  json?: boolean;
  progressRelay?: boolean;
}

const EXAMPLES = `
Examples:
  $ mmgap train --data avdigits --method ${ROLES.default} --epochs 2 --warmup 1 --seed 0 --out runs/try --json
  $ mmgap train --data avdigits --method ${ROLES.reference} --epochs 2 --json
  $ mmgap train --config configs/cremad.yaml --data cremad:/data/CREMA-D --method ${ROLES.default} --device cuda
  $ mmgap train --method ${ROLES.default} --method-opt beta=1 --method-opt gmmOn=absolute --out runs/abs

Config files (YAML or JSON) hold RunConfig fields by name (epochs, warmup, batchSize, methodOptions,
perMethodOptions, purify: {keep, tau, epochs, ...}, ...); flags override them. configs/cremad.yaml,
configs/ave.yaml and configs/ks.yaml set the peers' protocol per dataset (docs/REPRODUCE.md). Re-running the same command resumes
from the last finished epoch (--no-resume starts over). Ctrl-C stops after the current step.`;

export function registerTrain(program: Command, ctx: CliContext): void {
  const cmd = program.command('train').description('train one model (a method on a dataset) into a run directory, then write its report.html');
  addRunFlags(cmd, { method: true, methodOpt: true })
    .option('--out <dir>', 'run directory (default runs/<dataset>-<method>-seed<seed>)')
    .option('--no-resume', 'start over even when the run directory holds a checkpoint')
    .option('--json', 'print the run summary as one JSON line (and no progress)')
    .option('--nproc <n>', 'data-parallel ranks on this machine (c10d, Gloo on CPU): each trains on batchSize / n samples of every batch; across machines, start one `mmgap train` per process with torchrun\'s variables (README)', parseNproc)
    .option('--master-port <port>', 'rendezvous port of --nproc (default: a free one)', (t) => Number(t))
    // A grid's run (src/cli/grid.ts) relays its progress bar to the grid's, which draws it.
    .addOption(new Option('--progress-relay').hideHelp())
    .addHelpText('after', EXAMPLES)
    .action(async (flags: TrainFlags) => {
      const trainer = await ctx.loadTrainer();
      const config = resolveRunConfig(flags, trainer.methods);
      checkDataSpec(config.data);
      if ((flags.nproc ?? 1) > 1 && ctx.io.env.WORLD_SIZE === undefined) {
        ctx.exitCode = await launchRanks(ctx.io, ctx.argv, flags.nproc as number, flags.masterPort ?? null);
        return;
      }
      const outDir = resolve(flags.out ?? defaultOutDir(config));
      await checkResumable(outDir, flags.resume);
      const { joinFromEnv } = await import('../../torch/distributed.js');
      const group = joinFromEnv(ctx.io.env) ?? undefined;
      const relay = flags.progressRelay === true;
      // A grid's run speaks through rank 0 alone, as the grid did when it trained in one process.
      const progress = new Progress(ctx.io, flags.json === true || (relay && (group?.rank ?? 0) !== 0), relay);
      try {
        const { summary, report } = await trainOne(ctx, trainer, config, { outDir, resume: flags.resume, progress, group });
        if ((group?.rank ?? 0) === 0) printResult(ctx, flags.json === true, summaryLines(summary, report), { ...summary, report });
      } finally {
        group?.shutdown();
      }
    });
}
