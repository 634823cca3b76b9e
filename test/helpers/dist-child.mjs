// One rank of the distributed tests, from the built package. Usage:
//   node dist-child.mjs collectives RANK WORLD PORT
//   node dist-child.mjs ddp sgd|adam RANK WORLD PORT    (WORLD 1: plain training, no process group)
// Prints one JSON line with what the test compares.
import { manualSeed, randn, randint, optim, nn, setNumThreads, tensor, noGrad } from '../../dist/src/torch/index.js';
import { ProcessGroup, DistributedDataParallel } from '../../dist/src/torch/distributed.js';

setNumThreads(1);
const [mode, ...rest] = process.argv.slice(2);
const join = (rank, world, port) => ProcessGroup.init({ rank, worldSize: world, masterAddr: '127.0.0.1', masterPort: port, timeoutMs: 20_000 });

if (mode === 'collectives') {
  const [rank, world, port] = rest.map(Number);
  const g = join(rank, world, port);
  const sum = g.allReduce(tensor([rank + 1, 10 * (rank + 1)], { dtype: 'float64' })).toArray();
  const max = g.allReduce(tensor([rank, -rank], { dtype: 'float64' }), 'max').toArray();
  const gathered = g.allGather(tensor([rank, rank * rank], { dtype: 'int64' })).map((t) => t.toArray());
  const fromRoot = g.broadcast(tensor([rank === 1 ? 42 : rank, 7], { dtype: 'float32' }), 1).toArray();
  g.barrier();
  g.shutdown();
  process.stdout.write(JSON.stringify({ sum, max, gathered, fromRoot }) + '\n');
} else if (mode === 'ddp') {
  const [opt, ...nums] = rest;
  const [rank, world, port] = nums.map(Number);
  // A float64 MLP; every rank builds it from a different seed: DDP must start them all from rank 0's weights.
  class Mlp extends nn.Module {
    constructor() {
      super();
      this.param('w1', randn([8, 6], { dtype: 'float64' }).mul(0.4));
      this.param('b1', randn([8], { dtype: 'float64' }).mul(0.1));
      this.param('w2', randn([3, 8], { dtype: 'float64' }).mul(0.4));
      this.param('b2', randn([3], { dtype: 'float64' }).mul(0.1));
    }
    forward(x) {
      const h = x.matmul(this.tensor('w1').t()).add(this.tensor('b1')).tanh();
      return h.matmul(this.tensor('w2').t()).add(this.tensor('b2'));
    }
  }
  manualSeed(world === 1 ? 0 : rank === 0 ? 0 : 1000 + rank);
  const model = new Mlp();
  const g = world > 1 ? join(rank, world, port) : null;
  const ddp = g ? new DistributedDataParallel(model, g, { bucketBytes: 256, firstBucketBytes: 128 }) : null;
  const o = opt === 'adam' ? new optim.Adam(model.parameters(), { lr: 0.05 }) : new optim.SGD(model.parameters(), { lr: 0.3, momentum: 0.9 });
  const global = 8, local = global / world, steps = 6;
  for (let s = 0; s < steps; s++) {
    manualSeed(100 + s);
    const x = randn([global, 6], { dtype: 'float64' });
    const y = randint(0, 3, [global]);
    const xs = x.narrow(0, rank * local, local), ys = y.narrow(0, rank * local, local);
    o.zeroGrad();
    const loss = nn.F.crossEntropy(model.forward(xs), ys);
    ddp?.prepareBackward(loss);
    loss.backward();
    o.step();
  }
  const params = noGrad(() => Object.fromEntries([...model.namedParameters()].map(([n, p]) => [n, p.toArray()])));
  ddp?.release();
  g?.shutdown();
  process.stdout.write(JSON.stringify({ params }) + '\n');
}
