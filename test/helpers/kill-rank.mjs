// Preloaded into every process of a `mmgap train --nproc N` job (NODE_OPTIONS="--import <this>") by
// test/train/distributed-fault.test.ts: the rank MMGAP_TEST_KILL_RANK SIGKILLs itself (kill -9)
// during its training step MMGAP_TEST_KILL_STEP (1-based, counted over the run), just before that
// step's backward: a point that does not depend on timing. It first writes the time to
// MMGAP_TEST_KILL_STAMP, so that the test can measure how long the job takes to stop.
import { writeFileSync } from 'node:fs';

const { RANK, MMGAP_TEST_KILL_RANK: rank, MMGAP_TEST_KILL_STEP: step, MMGAP_TEST_KILL_STAMP: stamp } = process.env;
if (RANK !== undefined && RANK === rank) {
  const { Tensor } = await import(new URL('../../dist/src/torch/tensor.js', import.meta.url).href);
  const backward = Tensor.prototype.backward;
  let steps = 0;
  Tensor.prototype.backward = function (...args) {
    if (++steps === Number(step)) {
      if (stamp) writeFileSync(stamp, String(Date.now()));
      process.kill(process.pid, 'SIGKILL');
    }
    return backward.apply(this, args);
  };
}
