// A non-finite training loss: the run stops in fp32/bf16; under fp16 loss scaling the step goes on
// and GradScaler skips it, until too many in a row.
import { describe, expect, it } from 'vitest';
import { NonFiniteLosses } from '../../src/train/nonfinite.js';
import { GradScaler, nn, optim, tensor, tidy } from '../../src/torch/index.js';

const where = 'epoch 2, step 7 (method joint, lr 0.001)';

describe('NonFiniteLosses', () => {
  it('without loss scaling, the first non-finite loss stops the run, naming the step and the fix', () => {
    const g = new NonFiniteLosses(false);
    expect(g.check(1.5, where)).toBe(true);
    expect(() => g.check(Number.NaN, where)).toThrow(/^loss is NaN at epoch 2, step 7 \(method joint, lr 0\.001\); lower --lr, or check the data with `mmgap data verify`$/);
    expect(() => g.check(Number.POSITIVE_INFINITY, where)).toThrow(/^loss is Infinity at /);
  });

  it('under loss scaling, a non-finite loss is a skipped step; maxInARow of them in a row stop the run', () => {
    const g = new NonFiniteLosses(true, 3);
    expect(g.check(Number.NaN, where)).toBe(false);
    expect(g.check(Number.POSITIVE_INFINITY, where)).toBe(false);
    expect(g.check(0.7, where)).toBe(true); // a finite loss resets the run of them
    expect(g.check(Number.NaN, where)).toBe(false);
    expect(g.check(Number.NaN, where)).toBe(false);
    expect(() => g.check(Number.NaN, where)).toThrow(/^loss is NaN at epoch 2, step 7 \(method joint, lr 0\.001\): 3 non-finite losses in a row under fp16 loss scaling .*use --precision bf16, or lower --lr$/);
    expect(g.count).toBe(5);
  });

  it('the step it lets through is skipped by GradScaler: parameters unchanged, the scale halved', () => {
    const lin = new nn.Linear(2, 1);
    const opt = new optim.SGD(lin.parameters(), { lr: 0.1 });
    const scaler = new GradScaler();
    const before = lin.parameters().map((p) => p.toArray());
    const g = new NonFiniteLosses(true);
    tidy(() => {
      opt.zeroGrad();
      const loss = lin.forward(tensor([[1, 2]])).sum().mul(Number.NaN);
      expect(g.check(loss.item(), where)).toBe(false);
      scaler.scaleLoss(loss).backward();
      expect(scaler.step(opt)).toBe(false);
      scaler.update();
    });
    expect(lin.parameters().map((p) => p.toArray())).toEqual(before);
    expect([scaler.skippedSteps, scaler.scale]).toEqual([1, 2 ** 15]);
  });
});
