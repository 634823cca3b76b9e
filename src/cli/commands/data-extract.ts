/** `mmgap data extract`: raw videos -> a community layout (frames, WAV, split files) with ffmpeg. */
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { EXTRACT_SETTINGS, type ExtractSettings } from '../../data/extract/options.js';
import { extractDataset, type ExtractSummary } from '../../data/extract/extract.js';
import { FfmpegMissingError } from '../../data/extract/ffmpeg.js';
import { LAYOUTS, type LayoutName } from '../../data/extract/layouts.js';
import { ExtractInputError } from '../../data/extract/plan.js';
import { duration } from '../../report/format.js';
import { accepts, formatValue, parseSettingValue, resolveSettings, SettingError } from '../../settings.js';
import { printResult, type CliContext } from '../context.js';
import { UsageError } from '../errors.js';
import { interruptible, resumeCommand } from '../interrupt.js';
import { Progress } from '../progress.js';

interface ExtractFlags extends Partial<ExtractSettings> {
  from: string;
  layout: string;
  out: string;
  lists?: string;
  json?: boolean;
}

const EXAMPLES = `
Examples:
  $ mmgap data extract --from /data/CREMA-D/VideoFlash --layout cremad --out /data/cremad
  $ mmgap data extract --from /data/AVE/AVE --lists /data/AVE --layout ave --out /data/ave
  $ mmgap data extract --from /data/kinetics/train --lists /data/ks-lists --layout ks --out /data/ks --workers 8
  $ mmgap data extract --from videos.txt --layout folder --out /data/mine --test-fraction 0.2

--from is a folder of videos (labels from class sub-folders; CREMA-D's from the file names) or a
text file listing video paths. --lists is a folder holding the layout's split files (cremad:
train.csv, test.csv; ave: trainSet.txt, valSet.txt, testSet.txt; ks: my_train.txt, my_test.txt;
folder: manifest.csv); without it, splits are seeded and stratified by class. Frames at the
layout's rate and naming, 16 kHz mono WAV. Running the same command again resumes: finished
clips are skipped. Per-clip failures go to ROOT/extract-failures.csv. ffmpeg: FFMPEG=/path/to/ffmpeg.`;

const kebab = (s: string): string => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

function summaryLines(s: ExtractSummary, workers: number): string[] {
  const pct = (x: number): string => `${(100 * x).toFixed(x > 0 && x < 0.01 ? 1 : 0)} %`;
  const shown = s.failures.slice(0, 10).map((f) => `  failed ${f.id || f.video}: ${f.reason}`);
  return [
    `extracted ${s.done} clips, ${s.skipped} already complete (skipped), ${s.failed} failed (${pct(s.failedShare)}) in ${duration(s.seconds)}: ${s.clipsPerSecond.toFixed(2)} clips/s with ${workers} workers`,
    `splits: train ${s.splits.train}, val ${s.splits.val}, test ${s.splits.test} (${s.splitFiles.join(', ')})`,
    ...(s.ignored ? [`${s.ignored} videos under --from are in no given split file: not extracted`] : []),
    ...(s.otherFiles ? [`${s.otherFiles} files under --from without a video extension: not extracted`] : []),
    ...shown,
    ...(s.failures.length > shown.length ? [`  ... ${s.failures.length - shown.length} more`] : []),
    `failures with their reasons: ${s.failuresCsv}`,
    `next: mmgap data verify --data ${s.layout}:${s.out}`,
  ];
}

export function registerDataExtract(data: Command, ctx: CliContext): void {
  const cmd = data
    .command('extract')
    .description('turn raw videos into a dataset layout with ffmpeg: frames, 16 kHz WAV and split files (resumable)')
    .requiredOption('--from <dir|list>', 'folder of videos (class sub-folders allowed) or a text file listing video paths')
    .addOption(new Option('--layout <name>', 'layout to write, as --data <layout>:ROOT reads it').choices(LAYOUTS).makeOptionMandatory())
    .requiredOption('--out <root>', 'dataset root to write')
    .option('--lists <dir>', "folder holding the layout's split files (labels, splits, AVE windows); default: seeded stratified splits");
  for (const [k, s] of Object.entries(EXTRACT_SETTINGS)) {
    const flag = `--${kebab(k)}`;
    cmd.addOption(
      s.type === 'boolean'
        ? new Option(flag, s.help)
        : new Option(`${flag} <n>`, `${s.help} (${accepts(s)}, default ${formatValue(s.default)})`).argParser((t) => parseSettingValue(s, t)),
    );
  }
  cmd
    .option('--json', 'print the summary as one JSON line (and no progress)')
    .addHelpText('after', EXAMPLES)
    .action(async (flags: ExtractFlags) => {
      let settings: ExtractSettings;
      try {
        settings = resolveSettings('data extract', EXTRACT_SETTINGS, Object.fromEntries(Object.keys(EXTRACT_SETTINGS).map((k) => [k, flags[k as keyof ExtractSettings]])), 'flag');
      } catch (e) {
        throw e instanceof SettingError ? new UsageError(e.message.replace(/flag (\w+)/, (_, k: string) => `--${kebab(k)}`)) : e;
      }
      const out = resolve(flags.out);
      const progress = new Progress(ctx.io, flags.json === true);
      const hint = `finished clips are kept; run the same command again to resume: ${resumeCommand(ctx.argv)}`;
      let summary: ExtractSummary;
      try {
        summary = await interruptible(ctx.io, progress, hint, (signal) =>
          extractDataset(
            { ...settings, from: resolve(flags.from), layout: flags.layout as LayoutName, out, lists: flags.lists ? resolve(flags.lists) : null },
            { env: ctx.io.env, signal, onClip: (n, total, id, status) => progress.update(n / Math.max(1, total), `extracting (${n}/${total}) ${id} ${status}`) },
          ),
        );
      } catch (e) {
        throw e instanceof FfmpegMissingError || e instanceof ExtractInputError ? new UsageError(e.message) : e;
      }
      const lines = summaryLines(summary, settings.workers);
      const tooMany = summary.failedShare > settings.maxFailed;
      if (tooMany) {
        lines.push(`${summary.failed} of ${summary.clips} clips failed, more than --max-failed ${settings.maxFailed}: see ${summary.failuresCsv}; fix them, or pass --max-failed 1 to accept`);
      }
      printResult(ctx, flags.json === true, lines, { ...summary, ok: !tooMany });
      if (tooMany) ctx.exitCode = 1;
    });
}
