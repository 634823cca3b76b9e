// Runs one training run in a child process (for the kill-and-resume test), from the built package.
// Usage: node train-child.mjs '<config json>' OUT_DIR [KILL_AT]
// KILL_AT makes the process SIGKILL itself, at a point that does not depend on timing:
//   step:E:S  during step S (1-based) of epoch E (0-based; purification epochs follow the main ones)
//   epoch:E   right after epoch E's metrics are written
import { trainRun } from '../../dist/src/train/run.js';

const [config, out, killAt] = process.argv.slice(2);
const die = () => process.kill(process.pid, 'SIGKILL');
const onEvent = (e) => {
  if (!killAt) return;
  if (e.kind === 'step' && killAt === `step:${e.epoch}:${e.step}`) die();
  if (e.kind === 'epoch' && killAt === `epoch:${e.metrics.epoch - 1}`) die();
};
const summary = await trainRun(JSON.parse(config), { outDir: out, resume: true, onEvent });
process.stdout.write(JSON.stringify(summary) + '\n');
