// Optimizers, schedules and clipping follow torch.optim step for step (float64; max abs
// difference of the parameters after 6 steps <= 1e-10).
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { optim, tensor, manualSeed, randn, loadSafetensors, saveSafetensors, type Tensor } from '../../src/torch/index.js';
import { runPython, tempDir } from '../helpers/python.js';

const REFERENCE = `
import sys, json, torch
from st import load, save
torch.set_default_dtype(torch.float64)
d = sys.argv[1]
cfg = json.loads(sys.argv[2])
t = load(d + '/in.st')
w = t['w'].clone().requires_grad_(True); b = t['b'].clone().requires_grad_(True)
groups = [{'params': [w]}, {'params': [b], 'lr': cfg['lr2']}]
kind = cfg['kind']
if kind == 'sgd':
    opt = torch.optim.SGD(groups, lr=cfg['lr'], momentum=cfg['momentum'], dampening=cfg['dampening'], weight_decay=cfg['wd'], nesterov=cfg['nesterov'])
elif kind == 'adam':
    opt = torch.optim.Adam(groups, lr=cfg['lr'], weight_decay=cfg['wd'])
else:
    opt = torch.optim.AdamW(groups, lr=cfg['lr'], weight_decay=cfg['wd'])
sched = torch.optim.lr_scheduler.StepLR(opt, 2, 0.5) if cfg['sched'] == 'step' else torch.optim.lr_scheduler.CosineAnnealingLR(opt, 4, 1e-3)
norms = []
for i in range(6):
    opt.zero_grad(set_to_none=True)
    x = t['x%d' % i]
    loss = ((x @ w.T + b - t['y%d' % i]) ** 2).mean()
    loss.backward()
    norms.append(float(torch.nn.utils.clip_grad_norm_([w, b], cfg['clip'])))
    opt.step()
    sched.step()
save(d + '/out.st', {'w': w, 'b': b})
print(json.dumps({'norms': norms, 'lrs': [g['lr'] for g in opt.param_groups]}))
`;

type Kind = 'sgd' | 'adam' | 'adamw';
interface Case { kind: Kind; lr: number; lr2: number; momentum: number; dampening: number; wd: number; nesterov: boolean; sched: 'step' | 'cosine'; clip: number }

function maxAbs(a: Tensor, b: Tensor): number {
  const x = a.toFloat64Array(), y = b.toFloat64Array();
  return x.reduce((m, v, i) => Math.max(m, Math.abs(v - (y[i] as number))), 0);
}

const cases: Case[] = [
  { kind: 'sgd', lr: 0.1, lr2: 0.05, momentum: 0.9, dampening: 0, wd: 1e-2, nesterov: true, sched: 'step', clip: 1.0 },
  { kind: 'sgd', lr: 0.1, lr2: 0.2, momentum: 0.8, dampening: 0.1, wd: 0, nesterov: false, sched: 'cosine', clip: 100 },
  { kind: 'sgd', lr: 0.05, lr2: 0.05, momentum: 0, dampening: 0, wd: 1e-3, nesterov: false, sched: 'step', clip: 0.5 },
  { kind: 'adam', lr: 0.01, lr2: 0.02, momentum: 0, dampening: 0, wd: 1e-2, nesterov: false, sched: 'cosine', clip: 1.0 },
  { kind: 'adamw', lr: 0.01, lr2: 0.03, momentum: 0, dampening: 0, wd: 0.1, nesterov: false, sched: 'step', clip: 100 },
];

describe('optimizers match torch.optim', () => {
  for (const c of cases) {
    it(`${c.kind} ${JSON.stringify(c)}`, () => {
      manualSeed(3);
      const inputs: Record<string, Tensor> = { w: randn([3, 4], { dtype: 'float64' }), b: randn([3], { dtype: 'float64' }) };
      for (let i = 0; i < 6; i++) {
        inputs[`x${i}`] = randn([8, 4], { dtype: 'float64' });
        inputs[`y${i}`] = randn([8, 3], { dtype: 'float64' });
      }
      const dir = tempDir();
      saveSafetensors(join(dir, 'in.st'), inputs);
      const ref = JSON.parse(runPython(REFERENCE, [dir, JSON.stringify(c)])) as { norms: number[]; lrs: number[] };
      const refOut = loadSafetensors(join(dir, 'out.st')).tensors;

      const w = (inputs.w as Tensor).clone().requiresGrad_();
      const b = (inputs.b as Tensor).clone().requiresGrad_();
      const groups = [{ params: [w] }, { params: [b], lr: c.lr2 }];
      const opt = c.kind === 'sgd'
        ? new optim.SGD(groups, { lr: c.lr, momentum: c.momentum, dampening: c.dampening, weightDecay: c.wd, nesterov: c.nesterov })
        : new (c.kind === 'adam' ? optim.Adam : optim.AdamW)(groups, { lr: c.lr, weightDecay: c.wd });
      const sched = c.sched === 'step' ? new optim.StepLR(opt, 2, 0.5) : new optim.CosineAnnealingLR(opt, 4, 1e-3);
      const norms: number[] = [];
      for (let i = 0; i < 6; i++) {
        opt.zeroGrad();
        const x = inputs[`x${i}`] as Tensor;
        x.matmul(w.t()).add(b).sub(inputs[`y${i}`] as Tensor).pow(2).mean().backward();
        norms.push(optim.clipGradNorm([w, b], c.clip));
        opt.step();
        sched.step();
      }
      expect(maxAbs(w, refOut.get('w')!)).toBeLessThan(1e-10);
      expect(maxAbs(b, refOut.get('b')!)).toBeLessThan(1e-10);
      norms.forEach((n, i) => expect(n).toBeCloseTo(ref.norms[i] as number, 10));
      opt.lrs.forEach((lr, i) => expect(lr).toBeCloseTo(ref.lrs[i] as number, 12));
    });
  }

  it('restores optimizer state from its state dict (resumed steps equal uninterrupted ones)', () => {
    const make = (): Tensor => tensor([1, -2, 3], { dtype: 'float64' }).requiresGrad_();
    const run = (p: Tensor, opt: optim.Optimizer<{ lr: number }>, steps: number): void => {
      for (let i = 0; i < steps; i++) { opt.zeroGrad(); p.pow(3).sum().backward(); opt.step(); }
    };
    for (const mk of [(p: Tensor) => new optim.SGD([p], { lr: 0.01, momentum: 0.9 }), (p: Tensor) => new optim.Adam([p], { lr: 0.01 })]) {
      const a = make(); const oa = mk(a); run(a, oa, 6);
      const b = make(); const ob = mk(b); run(b, ob, 3);
      const dir = tempDir();
      const sd = ob.stateDict();
      saveSafetensors(join(dir, 'opt.st'), sd.tensors, { meta: JSON.stringify(sd.meta) });
      const c = b.detach().clone().requiresGrad_();
      const oc = mk(c);
      const loaded = loadSafetensors(join(dir, 'opt.st'));
      oc.loadStateDict({ tensors: loaded.tensors, meta: JSON.parse(loaded.metadata.meta as string) });
      run(c, oc, 3);
      expect(maxAbs(a, c)).toBe(0);
    }
  });

  it('rejects invalid hyper-parameters by name', () => {
    const p = tensor([1]).requiresGrad_();
    expect(() => new optim.SGD([p], { lr: -1 })).toThrow(/invalid lr -1/);
    expect(() => new optim.SGD([p], { lr: 0.1, nesterov: true })).toThrow(/nesterov needs momentum/);
    expect(() => new optim.Adam([p], { beta1: 1 })).toThrow(/betas/);
    expect(() => new optim.SGD([tensor([1])], { lr: 0.1 })).toThrow(/does not require grad/);
  });
});
