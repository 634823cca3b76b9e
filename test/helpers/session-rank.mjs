// One rank of the float64 method tests (test/train/distributed.test.ts), from the built package: the
// run's model, made float64, trained for cfg.epochs main-stage epochs by the trainer's own Session
// (its step, its sharding, its StepContext), alone (WORLD 1) or as one of WORLD ranks. Each rank
// writes its own run directory. Prints one JSON line: this rank's parameters (float64) and the
// epochs' method logs.
// Usage: node session-rank.mjs '<config json>' OUT_DIR RANK WORLD PORT [plain-backward]
// plain-backward: the method gets a backward of its own that averages nothing (loss.backward()).
import { resolveConfig } from '../../dist/src/train/config.js';
import { METHODS, getMethod } from '../../dist/src/methods/registry.js';
import { RunDir } from '../../dist/src/train/rundir.js';
import { openRunData, runLoader, runModel } from '../../dist/src/train/setup.js';
import { Session } from '../../dist/src/train/session.js';
import { TrainingJob } from '../../dist/src/train/distributed.js';
import { ProcessGroup } from '../../dist/src/torch/distributed.js';
import { libtorchVersion, manualSeed, noGrad, optim } from '../../dist/src/torch/index.js';

const [config, out, ...rest] = process.argv.slice(2);
const [rank, world, port] = rest.slice(0, 3).map(Number);
const cfg = resolveConfig(JSON.parse(config), METHODS);
const group = world > 1 ? ProcessGroup.init({ rank, worldSize: world, masterAddr: '127.0.0.1', masterPort: port, timeoutMs: 30_000 }) : null;
const job = group ? new TrainingJob(group) : null;
const method = getMethod(cfg.method).create(cfg.methodOptions);
if (rest[3] === 'plain-backward') method.backward = (r) => r.loss.backward();
let loaders = null;
try {
  job?.checkRun(cfg);
  const dir = new RunDir(out);
  dir.open(cfg, libtorchVersion, false);
  const data = await openRunData(cfg, dir);
  loaders = {
    train: runLoader(cfg, data, 'train', { batchSize: cfg.batchSize / world, shuffle: !job, train: true, seed: cfg.seed }),
    trainEval: runLoader(cfg, data, 'train'), val: runLoader(cfg, data, 'val'), test: runLoader(cfg, data, 'test'),
  };
  manualSeed(cfg.seed);
  const model = runModel(cfg, data.dataset, data.device);
  // float64: every module's own parameters and buffers replaced by float64 copies (Module.param and
  // .buffer, protected in TypeScript), and the float32 batches cast on the way in.
  for (const [, m] of model.namedModules()) {
    for (const [n, p] of [...m.namedParameters()]) if (!n.includes('.')) m.param(n, noGrad(() => p.detach().double()));
    for (const [n, b] of [...m.namedBuffers()]) if (!n.includes('.')) m.buffer(n, noGrad(() => b.double()));
  }
  const forward = model.forward.bind(model);
  model.forward = (inputs, lengths) => forward(Object.fromEntries(Object.entries(inputs).map(([k, x]) => [k, x.double()])), lengths);
  job?.wrap(model);
  const optimizer = cfg.optimizer === 'sgd'
    ? new optim.SGD(model.parameters(), { lr: cfg.lr, momentum: cfg.momentum, weightDecay: cfg.weightDecay })
    : new optim.Adam(model.parameters(), { lr: cfg.lr, weightDecay: cfg.weightDecay });
  const s = new Session(cfg, dir, data.dataset, model, data.device, loaders, {}, method);
  s.job = job;
  const epochs = [];
  for (let e = 0; e < cfg.epochs; e++) {
    const m = await s.epoch(e, cfg.epochs, { stage: 'main', method, optimizer, indices: null, frozenEncoders: false });
    epochs.push({ logs: m.train.logs, method: m.method, loss: m.train.loss });
  }
  const params = noGrad(() => Object.fromEntries([...model.namedParameters()].map(([n, p]) => [n, { dtype: p.dtype, values: Array.from(p.toFloat64Array()) }])));
  job?.ddp?.release();
  process.stdout.write(JSON.stringify({ params, epochs, steps: s.step }) + '\n');
} catch (e) {
  process.stderr.write(`${e.constructor.name}: ${e.message}\n`);
  process.exitCode = 1;
} finally {
  await Promise.all(Object.values(loaders ?? {}).map((l) => l.close()));
  group?.shutdown();
}
