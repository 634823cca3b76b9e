// Autograd of every operator family mmgap uses, against central finite differences in float64.
// Tolerance: |analytic - numeric| <= 1e-6 + 1e-5 |numeric| per element (step 1e-6).
import { describe, expect, it } from 'vitest';
import { tensor, randn, rand, manualSeed, noGrad, ops, nn, type Tensor, cat, stack, where } from '../../src/torch/index.js';

const F = nn.F;

function gradcheck(f: (...xs: Tensor[]) => Tensor, inputs: Tensor[], opts: { seeded?: boolean; eps?: number } = {}): void {
  const eps = opts.eps ?? 1e-6;
  const run = (xs: Tensor[]): Tensor => { if (opts.seeded) manualSeed(7); return f(...xs); };
  const leaves = inputs.map((x) => x.detach().clone().requiresGrad_());
  const y = run(leaves);
  manualSeed(123);
  const w = randn(y.shape, { dtype: 'float64' });
  y.mul(w).sum().backward();
  const objective = (xs: Tensor[]): number => noGrad(() => run(xs).mul(w).sum().item());
  inputs.forEach((x, k) => {
    const base = x.toFloat64Array();
    const analytic = (leaves[k] as Tensor).grad?.toFloat64Array() ?? new Float64Array(base.length);
    const step = Math.max(1, Math.floor(base.length / 40)); // at most ~40 probed elements per input
    for (let i = 0; i < base.length; i += step) {
      const probe = (delta: number): number => {
        const d = base.slice();
        d[i] = (d[i] as number) + delta;
        return objective(inputs.map((xx, j) => (j === k ? tensor(d, x.shape) : xx)));
      };
      const numeric = (probe(eps) - probe(-eps)) / (2 * eps);
      const a = analytic[i] as number;
      expect(Math.abs(a - numeric), `input ${k} element ${i}: analytic ${a}, numeric ${numeric}`).toBeLessThanOrEqual(1e-6 + 1e-5 * Math.abs(numeric));
    }
  });
}

const r = (...shape: number[]): Tensor => randn(shape, { dtype: 'float64' });
/** Values bounded away from 0, where relu/abs/max have kinks. */
const away = (...shape: number[]): Tensor => { const x = r(...shape); return x.add(x.gt(0).double().mul(0.2).sub(0.1)); };
const positive = (...shape: number[]): Tensor => rand(shape, { dtype: 'float64' }).add(0.5);

describe('finite-difference gradients (float64)', () => {
  manualSeed(0);
  it('broadcasting arithmetic', () => {
    const c = positive(3);
    gradcheck((a, b) => a.add(b).mul(b).sub(a.div(c.add(b.abs()))), [r(2, 3), away(3)]);
    gradcheck((a, b) => a.pow(2).add(b.pow(a)).add(a.pow(3).div(b)), [r(4), positive(4)]);
  });
  it('elementwise functions', () => {
    gradcheck((a) => cat([a.exp(), a.tanh(), a.sigmoid(), a.abs().add(1).log(), a.abs().add(1).sqrt(), a.relu(), a.clamp(-0.5, 0.5)]), [away(5)]);
  });
  it('matmul and linear', () => {
    gradcheck((a, b) => a.matmul(b), [r(3, 4), r(4, 2)]);
    gradcheck((x, w, b) => F.linear(x, w, b), [r(5, 4), r(3, 4), r(3)]);
  });
  it('conv2d with stride, padding and bias', () => {
    gradcheck((x, w, b) => F.conv2d(x, w, b, { stride: 2, padding: 1 }), [r(2, 2, 6, 6), r(3, 2, 3, 3), r(3)]);
  });
  it('batch_norm in training mode', () => {
    gradcheck((x, w, b) => F.batchNorm(x, null, null, w, b, true), [r(4, 3, 2, 2), positive(3), r(3)]);
  });
  it('max, avg and adaptive pooling', () => {
    gradcheck((x) => F.maxPool2d(x, 2), [r(1, 2, 4, 4)]);
    gradcheck((x) => F.maxPool2d(x, 3, 2, 1), [r(1, 1, 5, 5)]);
    gradcheck((x) => F.avgPool2d(x, 2), [r(1, 2, 4, 4)]);
    gradcheck((x) => F.adaptiveAvgPool2d(x, [2, 3]), [r(1, 2, 5, 7)]);
  });
  it('softmax, log_softmax and cross_entropy (reduction none)', () => {
    gradcheck((x) => F.softmax(x, 1), [r(3, 5)]);
    gradcheck((x) => F.logSoftmax(x, 0), [r(3, 5)]);
    const y = tensor([0, 4, 2], { dtype: 'int64' });
    gradcheck((x) => F.crossEntropy(x, y, { reduction: 'none' }), [r(3, 5)]);
    gradcheck((x) => F.crossEntropy(x, y, { labelSmoothing: 0.1 }), [r(3, 5)]);
  });
  it('dropout (same mask under the same seed)', () => {
    gradcheck((x) => F.dropout(x, 0.3, true), [r(4, 6)], { seeded: true });
  });
  it('cat, stack, slicing, index_select and gather', () => {
    const idx = tensor([2, 0, 2], { dtype: 'int64' });
    const gidx = tensor([[0, 1], [2, 2], [1, 0]], { dtype: 'int64' });
    gradcheck((a, b) => cat([a, b], 1), [r(2, 3), r(2, 2)]);
    gradcheck((a, b) => stack([a, b], 0), [r(2, 3), r(2, 3)]);
    gradcheck((a) => a.slice(1, 1, 5, 2).add(a.narrow(0, 1, 1).narrow(1, 0, 2)), [r(2, 5)]);
    gradcheck((a) => a.indexSelect(0, idx), [r(3, 4)]);
    gradcheck((a) => a.gather(1, gidx), [r(3, 3)]);
  });
  it('reductions', () => {
    gradcheck((a) => cat([a.sum().reshape([1]), a.mean(1), a.sum([0]), a.max(1)[0], a.norm().reshape([1])]), [away(3, 4)]);
  });
  it('comparisons and where', () => {
    gradcheck((a, b) => where(a.gt(b), a.mul(2), b.mul(3)), [away(3, 3), r(3, 3).mul(0.01)]);
  });
  it('stft magnitude and bilinear interpolate', () => {
    const win = ops.hann_window(16, true, 'float64');
    gradcheck((x) => ops.view_as_real(ops.stft(x, 16, 4, 16, win, false, true, true)).pow(2).sum(-1).add(1e-3).sqrt(), [r(64)]);
    gradcheck((x) => F.interpolate(x, [5, 7]), [r(1, 2, 3, 4)]);
  });
});
