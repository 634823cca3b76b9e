// One rank of a distributed training run (test/train/distributed.test.ts), from the built package.
// Usage: node train-rank.mjs '<config json>' OUT_DIR RANK WORLD PORT   (WORLD 1: one process, no group)
import { trainRun } from '../../dist/src/train/run.js';
import { ProcessGroup } from '../../dist/src/torch/distributed.js';

const [config, out, ...nums] = process.argv.slice(2);
const [rank, world, port] = nums.map(Number);
const group = world > 1 ? ProcessGroup.init({ rank, worldSize: world, masterAddr: '127.0.0.1', masterPort: port, timeoutMs: 30_000 }) : undefined;
try {
  const summary = await trainRun(JSON.parse(config), { outDir: out, resume: true, group });
  process.stdout.write(JSON.stringify(summary) + '\n');
} catch (e) {
  process.stderr.write(`${e.constructor.name}: ${e.message}\n`);
  process.exitCode = 1;
} finally {
  group?.shutdown();
}
