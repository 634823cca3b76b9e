// Runs one training run in a child process (for the kill-and-resume test), from the built package.
// Usage: node train-child.mjs '<config json>' OUT_DIR
import { trainRun } from '../../dist/src/train/run.js';

const [config, out] = process.argv.slice(2);
const summary = await trainRun(JSON.parse(config), { outDir: out, resume: true });
process.stdout.write(JSON.stringify(summary) + '\n');
