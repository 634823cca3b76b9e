// One rank of the SyncBatchNorm test (test/torch/sync-batchnorm.test.ts), from the built package.
// Usage: node sync-bn-child.mjs RANK WORLD PORT   (WORLD 1: plain BatchNorm2d on the whole batch)
// For each case, two training-mode steps of a float64 BatchNorm on a global batch of 8 (rank r
// takes its rows [from, to) of it), loss sum(y * g) for a fixed random g; prints one JSON line:
// per case, this rank's rows of y and of dL/dx, its own weight and bias gradients (the test sums
// them over ranks), and the running statistics after both steps; then the eval-mode output.
import { manualSeed, randn, setNumThreads, noGrad, nn } from '../../dist/src/torch/index.js';
import { ProcessGroup } from '../../dist/src/torch/distributed.js';

setNumThreads(1);
const [rank, world, port] = process.argv.slice(2).map(Number);
const group = world > 1 ? ProcessGroup.init({ rank, worldSize: world, masterAddr: '127.0.0.1', masterPort: port, timeoutMs: 20_000 }) : null;

// A float64 BatchNorm: the layer's float32 tensors registered again as float64 (param and buffer
// are protected in TypeScript only). A synchronised one when there is a group.
function layer(c) {
  const bn = group ? new nn.SyncBatchNorm(c, group, 1e-5, 0.3) : new nn.BatchNorm2d(c, 1e-5, 0.3);
  manualSeed(3);
  noGrad(() => {
    bn.param('weight', randn([c], { dtype: 'float64' }).mul(0.5).add(1));
    bn.param('bias', randn([c], { dtype: 'float64' }).mul(0.5));
    bn.buffer('running_mean', randn([c], { dtype: 'float64' }));
    bn.buffer('running_var', randn([c], { dtype: 'float64' }).abs().add(0.5));
  });
  return bn;
}

const list = (t) => Array.from(t.toFloat64Array());
const CASES = [
  { name: '4-D, even split', shape: [8, 3, 5, 4], cut: 4 },
  { name: '4-D, uneven split (3 + 5 samples)', shape: [8, 3, 5, 4], cut: 3 },
  { name: '2-D features [N, C]', shape: [8, 6], cut: 4 },
];
const out = {};
for (const { name, shape, cut } of CASES) {
  const bn = layer(shape[1]);
  const [from, to] = world === 1 ? [0, 8] : rank === 0 ? [0, cut] : [cut, 8];
  const steps = [];
  const initial = Object.fromEntries([...bn.namedBuffers()].map(([n, t]) => [n, list(t.to('float64'))]));
  for (let step = 0; step < 2; step++) {
    manualSeed(10 + step);
    // A mean far from 0 and a spread per channel: the variance is not the mean of the squares.
    const x = randn(shape, { dtype: 'float64' }).mul(2).add(3);
    const g = randn(shape, { dtype: 'float64' });
    const xs = x.narrow(0, from, to - from).detach().requiresGrad_(true);
    for (const p of bn.parameters()) if (p.grad) noGrad(() => p.grad.zero_());
    const y = bn.forward(xs);
    y.mul(g.narrow(0, from, to - from)).sum().backward();
    steps.push({ y: list(y.detach()), dx: list(xs.grad), dw: list(bn.weight.grad), db: list(bn.bias.grad) });
  }
  const buffers = Object.fromEntries([...bn.namedBuffers()].map(([n, t]) => [n, list(t.to('float64'))]));
  bn.eval();
  manualSeed(20);
  const xe = randn(shape, { dtype: 'float64' }).narrow(0, from, to - from);
  out[name] = { from, to, steps, initial, buffers, evalY: list(bn.forward(xe)) };
}
group?.shutdown();
process.stdout.write(JSON.stringify(out) + '\n');
