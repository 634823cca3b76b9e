import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { conditionalSpeeds, greedy, rebalanceTarget } from '../../src/methods/greedy.js';
import { METHODS } from '../../src/methods/registry.js';
import { resolveConfig } from '../../src/train/config.js';
import { buildModel, type MultimodalClassifier } from '../../src/models/classifier.js';
import { MMTMFusion, MMTM_RATIO } from '../../src/models/fusion.js';
import { autocast, manualSeed, nn, noGrad, randn, tensor, type Tensor } from '../../src/torch/index.js';
import type { Method } from '../../src/methods/method.js';
import { runPython, tempDir } from '../helpers/python.js';
import { CLASSES, MODALITIES, batchOf, makeSplit, maxAbsDiff, sgd, stepContext, type Split } from './fixtures.js';

function mmtmModel(seed: number): MultimodalClassifier {
  manualSeed(seed);
  return buildModel(MODALITIES.map((name) => ({ name, shape: [1, 16, 16] })), CLASSES, { encoder: 'small-cnn', fusion: 'mmtm', width: 4 });
}

// The MMTM block of the reference (MMTM_mitigate, on features [N, D] whose spatial mean is themselves),
// one head per branch summed, in float64: fused and unimodal logits, the excitations, and the
// cross-entropy of the logits with the visual excitation held at a constant, with its gradients.
const REFERENCE = `
import json, sys, torch
import torch.nn.functional as F
a = json.load(open(sys.argv[1]))
t = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in a['tensors'].items()}
y = torch.tensor(a['labels'])
def fuse(fa, fv, held=None):
    e = F.relu(F.linear(torch.cat([fa, fv], 1), t['sq_w'], t['sq_b']))
    sa = torch.sigmoid(F.linear(e, t['ea_w'], t['ea_b']))
    sv = torch.sigmoid(F.linear(e, t['ev_w'], t['ev_b'])) if held is None else held.expand(fv.shape[0], -1)
    return F.linear(fa * sa, t['ha_w'], t['ha_b']) + F.linear(fv * sv, t['hv_w'], t['hv_b']), sa, sv
fa, fv = t['fa'], t['fv']
fused, sa, sv = fuse(fa, fv)
ua = fuse(fa, torch.zeros_like(fv))[0]
uv = fuse(torch.zeros_like(fa), fv)[0]
held = fuse(fa, fv, t['held'].detach())[0]
loss = F.cross_entropy(held, y)
loss.backward()
g = {k: (v.grad.flatten().tolist() if v.grad is not None else None) for k, v in t.items()}
flat = lambda x: x.detach().flatten().tolist()
print(json.dumps({'fused': flat(fused), 'ua': flat(ua), 'uv': flat(uv), 'sa': flat(sa), 'sv': flat(sv), 'held': flat(held), 'loss': loss.item(), 'grads': g}))
`;

describe('the mmtm fusion', () => {
  it('fused, unimodal and held logits, the excitations and the held step\'s gradients equal the reference block in PyTorch (float64)', () => {
    manualSeed(11);
    const f = new MMTMFusion(['audio', 'visual'], [6, 3], 5);
    // Squeeze width 2 (6 + 3) / ratio, floored (the reference's int()).
    expect(f.squeeze.weight.shape).toEqual([Math.floor(2 * 9 / MMTM_RATIO), 9]);
    const fa = randn([4, 6], { requiresGrad: true }), fv = randn([4, 3], { requiresGrad: true });
    const heldScale = tensor([0.2, 0.9, 0.55]);
    const labels = [0, 3, 4, 1];
    const vals = (x: Tensor): number[] => Array.from(x.detach().toFloat64Array());
    const named: Record<string, Tensor> = {
      sq_w: f.squeeze.weight, sq_b: f.squeeze.bias as Tensor, ea_w: f.excite[0]!.weight, ea_b: f.excite[0]!.bias as Tensor,
      ev_w: f.excite[1]!.weight, ev_b: f.excite[1]!.bias as Tensor, ha_w: f.heads[0]!.weight, ha_b: f.heads[0]!.bias as Tensor,
      hv_w: f.heads[1]!.weight, hv_b: f.heads[1]!.bias as Tensor, fa, fv, held: heldScale,
    };
    const shaped = Object.fromEntries(Object.entries(named).map(([k, v]) => [k, v.ndim === 2 ? Array.from({ length: v.shape[0]! }, (_, i) => vals(v).slice(i * v.shape[1]!, (i + 1) * v.shape[1]!)) : vals(v)]));
    const file = join(tempDir(), 'args.json');
    writeFileSync(file, JSON.stringify({ tensors: shaped, labels }));
    const ref = JSON.parse(runPython(REFERENCE, [file])) as Record<string, number[]> & { loss: number; grads: Record<string, number[] | null> };

    // float32 here against float64 there: logits of size ~1.
    const out = noGrad(() => f.forward({ audio: fa, visual: fv }));
    expect(maxAbsDiff(out.fused.toFloat64Array(), ref.fused!)).toBeLessThan(1e-5);
    expect(maxAbsDiff((out.unimodal.audio as Tensor).toFloat64Array(), ref.ua!)).toBeLessThan(1e-5);
    expect(maxAbsDiff((out.unimodal.visual as Tensor).toFloat64Array(), ref.uv!)).toBeLessThan(1e-5);
    const s = noGrad(() => f.excitations({ audio: fa, visual: fv }));
    expect(maxAbsDiff((s.audio as Tensor).toFloat64Array(), ref.sa!)).toBeLessThan(1e-6);
    expect(maxAbsDiff((s.visual as Tensor).toFloat64Array(), ref.sv!)).toBeLessThan(1e-6);

    const held = f.fuseHeld({ audio: fa, visual: fv }, 'visual', heldScale);
    expect(maxAbsDiff(held.detach().toFloat64Array(), ref.held!)).toBeLessThan(1e-5);
    const loss = nn.F.crossEntropy(held, tensor(labels, { dtype: 'int64' }));
    expect(Math.abs(loss.item() - ref.loss)).toBeLessThan(1e-5);
    loss.backward();
    for (const [k, t] of Object.entries(named)) {
      if (k === 'held') continue;
      const want = ref.grads[k];
      // Holding the visual excitation cuts its layer out of the graph: no gradient there, as in PyTorch.
      if (k.startsWith('ev_')) {
        expect(want).toBeNull();
        expect(t.grad ? Math.max(...Array.from(t.grad.toFloat64Array(), Math.abs)) : 0).toBe(0);
        continue;
      }
      expect(t.grad, k).toBeTruthy();
      expect(maxAbsDiff((t.grad as Tensor).toFloat64Array(), want!), k).toBeLessThan(1e-5);
    }
    expect(() => f.fuseHeld({ audio: fa, visual: fv }, 'text', heldScale)).toThrow(/no modality "text" to hold \(have audio, visual\)/);
    expect(() => f.fuseHeld({ audio: fa, visual: fv }, 'audio', heldScale)).toThrow(/held excitation of "audio" has 3 values, its features 6/);
  });
});

describe('greedy speeds and the re-balancing rule', () => {
  it('v_m = log10(bypass_m / main_m); re-balance the fastest when the spread exceeds alpha (two modalities: |v_0 - v_1| > alpha)', () => {
    const v = conditionalSpeeds({ audio: 2e-3, visual: 5e-4 }, { audio: 1e-2, visual: 1e-2 });
    expect(v.audio).toBeCloseTo(Math.log10(0.2), 14);
    expect(v.visual).toBeCloseTo(Math.log10(0.05), 14);
    expect(rebalanceTarget(v, 0.01)).toBe('audio');
    expect(rebalanceTarget({ audio: -2, visual: -1.5 }, 0.01)).toBe('visual');
    expect(rebalanceTarget({ audio: -2, visual: -1.995 }, 0.01)).toBeNull();
    expect(rebalanceTarget({ a: -2, b: -1.99, c: -2.02 }, 0.02)).toBe('b');
    expect(rebalanceTarget({ a: -2, b: -1.99, c: -2.005 }, 0.02)).toBeNull();
    expect(() => rebalanceTarget({ audio: 1 }, 0.01)).toThrow(/needs at least 2 modalities/);
  });
});

/** One step in the trainer's order, recording what the reference needs between backward and beforeStep. */
function step(method: Method, model: MultimodalClassifier, split: Split, idx: number[], epoch: number, n: number, opt: ReturnType<typeof sgd>) {
  const ctx = stepContext(model, opt, epoch, n);
  opt.zeroGrad();
  const b = batchOf(split, idx);
  const out = model.forward(b.inputs);
  const r = method.loss(out, b, ctx);
  r.loss.backward();
  // Squared norms of weights and gradients by parameter name (independent of the method's grouping).
  const norms = new Map<string, { w: number; g: number }>();
  for (const [name, p] of model.namedParameters()) {
    const sq = (a: Float64Array): number => a.reduce((s, x) => s + x * x, 0);
    norms.set(name, { w: sq(p.detach().toFloat64Array()), g: p.grad ? sq(p.grad.toFloat64Array()) : 0 });
  }
  const logs = method.beforeStep?.(out, b, ctx) as Record<string, number>;
  opt.step();
  return { lossLogs: r.logs as Record<string, number>, logs, norms };
}

describe('greedy training', () => {
  const split = makeSplit(24);
  const batches = [[0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11], [12, 13, 14, 15, 16, 17], [18, 19, 20, 21, 22, 23]];

  it('accumulates the update rates of each branch from epoch 0, and from `starts` holds the fastest branch\'s running-mean excitation for `window` steps', () => {
    const model = mmtmModel(4);
    const opt = sgd(model, 0.05);
    const window = 3;
    const method = greedy.create({ alpha: 0, window, starts: 1 });
    const sums = Object.fromEntries(MODALITIES.flatMap((m) => [[`bypass_${m}`, 0], [`main_${m}`, 0]]));
    let caring: string | null = null, taken = 0, held = 0;
    // 2 steps of epoch 0, then 12 of epoch 1.
    for (let n = 0; n < 14; n++) {
      const epoch = n < 2 ? 0 : 1;
      const s = step(method, model, split, batches[n % 4]!, epoch, n, opt);
      // Which branch this step held (the loss itself: the next test).
      expect(s.lossLogs).toEqual(Object.fromEntries(MODALITIES.map((m) => [`rebalance_${m}`, m === caring ? 1 : 0])));
      if (caring !== null) {
        held++;
        if (++taken === window) caring = null;
      } else {
        const group = (prefix: string[]): { w: number; g: number } => [...s.norms].filter(([k]) => prefix.some((p) => k.startsWith(p)))
          .reduce((a, [, v]) => ({ w: a.w + v.w, g: a.g + v.g }), { w: 0, g: 0 });
        for (const m of MODALITIES) {
          const bp = group(['fusion.squeeze.', `fusion.excite_${m}.`]), mn = group([`encoder_${m}.`, `fusion.head_${m}.`]);
          sums[`bypass_${m}`] = (sums[`bypass_${m}`] as number) + bp.g / bp.w;
          sums[`main_${m}`] = (sums[`main_${m}`] as number) + mn.g / mn.w;
        }
        if (epoch >= 1) {
          const v = MODALITIES.map((m) => Math.log10((sums[`bypass_${m}`] as number) / (sums[`main_${m}`] as number)));
          caring = v[0]! > v[1]! ? 'audio' : 'visual';
          taken = 0;
        }
      }
      for (const m of MODALITIES) {
        const v = Math.log10((sums[`bypass_${m}`] as number) / (sums[`main_${m}`] as number));
        expect(Math.abs((s.logs[`speed_${m}`] as number) - v)).toBeLessThan(1e-9 * Math.abs(v));
      }
    }
    // Epoch 1 from step 2: measured at 2, held 3-5, measured at 6, held 7-9, measured at 10, held 11-13.
    expect(held).toBe(9);
  });

  it('a held step\'s loss is the cross-entropy of the fused logits with the excitation held at the running mean of the batch means', () => {
    const model = mmtmModel(6);
    const opt = sgd(model, 0.05);
    const method = greedy.create({ alpha: 0, window: 2, starts: 0 });
    const fusion = model.fusion as MMTMFusion;
    const batchMeans: Record<string, Float64Array[]> = { audio: [], visual: [] };
    let checked = 0;
    for (let n = 0; n < 3; n++) {
      const ctx = stepContext(model, opt, 0, n);
      opt.zeroGrad();
      const b = batchOf(split, batches[n]!);
      const out = model.forward(b.inputs);
      const s = noGrad(() => fusion.excitations(out.features));
      for (const m of MODALITIES) batchMeans[m]!.push(noGrad(() => (s[m] as Tensor).double().mean(0).toFloat64Array()));
      const r = method.loss(out, b, ctx);
      const plain = noGrad(() => nn.F.crossEntropy(out.fused, b.labels).item());
      const caring = MODALITIES.find((m) => r.logs?.[`rebalance_${m}`] === 1);
      // Step 0 measures; steps 1 and 2 re-balance (alpha 0, window 2).
      expect(caring === undefined).toBe(n === 0);
      if (caring === undefined) {
        expect(Math.abs(r.loss.item() - plain)).toBeLessThan(1e-6);
      } else {
        // The mean over steps 0..n of the batch means, this step's included.
        const list = batchMeans[caring]!;
        const avg = Float64Array.from(list[0]!, (_, k) => list.reduce((a, v) => a + (v[k] as number), 0) / list.length);
        const want = noGrad(() => nn.F.crossEntropy(fusion.fuseHeld(out.features, caring, tensor(avg)), b.labels).item());
        expect(Math.abs(r.loss.item() - want)).toBeLessThan(1e-6);
        expect(Math.abs(r.loss.item() - plain)).toBeGreaterThan(1e-6);
        checked++;
      }
      r.loss.backward();
      method.beforeStep?.(out, b, ctx);
      opt.step();
    }
    expect(checked).toBe(2);
  });

  it('resumes from its state as if never stopped (running means, rates, the window in progress)', () => {
    const run = (stopAt: number | null): Record<string, number>[] => {
      const model = mmtmModel(8);
      const opt = sgd(model, 0.05);
      let method = greedy.create({ alpha: 0, window: 3, starts: 0 });
      const logs: Record<string, number>[] = [];
      for (let n = 0; n < 6; n++) {
        if (n === stopAt) {
          const st = method.state!();
          method = greedy.create({ alpha: 0, window: 3, starts: 0 });
          method.loadState!(JSON.parse(JSON.stringify(st)) as typeof st);
        }
        const s = step(method, model, split, batches[n % 4]!, 0, n, opt);
        logs.push({ ...s.lossLogs, ...s.logs });
      }
      return logs;
    };
    const straight = run(null);
    // Stopped inside a re-balancing window (step 2 of 1-3).
    expect(run(2)).toEqual(straight);
    expect(straight.map((l) => l.rebalance_audio! + l.rebalance_visual!)).toEqual([0, 1, 1, 1, 0, 1]);
  });

  it('trains under bf16 autocast: a held step casts the running mean to the features\' dtype', () => {
    const model = mmtmModel(9);
    const opt = sgd(model, 0.05);
    const method = greedy.create({ alpha: 0, window: 2, starts: 0 });
    const losses: number[] = [];
    for (let n = 0; n < 3; n++) {
      const ctx = stepContext(model, opt, 0, n);
      opt.zeroGrad();
      const b = batchOf(split, batches[n]!);
      const { out, r } = autocast('cpu', 'bfloat16', () => {
        const out = model.forward(b.inputs);
        return { out, r: method.loss(out, b, ctx) };
      });
      expect(out.fused.dtype).toBe('bfloat16');
      losses.push(r.loss.item());
      r.loss.backward();
      method.beforeStep?.(out, b, ctx);
      opt.step();
      expect(MODALITIES.reduce((a, m) => a + (r.logs?.[`rebalance_${m}`] ?? 0), 0)).toBe(n === 0 ? 0 : 1);
    }
    expect(losses.every(Number.isFinite)).toBe(true);
  });

  it('runs on the mmtm fusion, which it selects; another fusion, a model without it and bad options or state are clear errors', () => {
    const base = { data: 'avdigits', method: 'greedy' };
    expect(greedy.fusion).toBe('mmtm');
    expect(resolveConfig(base, METHODS).fusion).toBe('mmtm');
    expect(() => resolveConfig({ ...base, fusion: 'sum' }, METHODS)).toThrow(/method greedy is defined on the mmtm fusion, not sum/);
    manualSeed(1);
    const concat = buildModel(MODALITIES.map((name) => ({ name, shape: [1, 16, 16] })), CLASSES, { encoder: 'small-cnn', fusion: 'concat', width: 4 });
    const b = batchOf(split, batches[0]!);
    expect(() => greedy.create().loss(concat.forward(b.inputs), b, stepContext(concat, sgd(concat), 0, 0)))
      .toThrow('greedy: needs a model with the mmtm fusion (its cross-modal excitation block); build it with fusion mmtm (--fusion mmtm)');
    expect(() => greedy.create({ window: 0 })).toThrow(/window/);
    expect(() => greedy.create({ alpha: -1 })).toThrow(/alpha/);
    expect(() => greedy.create().loadState!({ json: { bypass: {}, main: {} }, tensors: {} })).toThrow('greedy: state has no valid bypass, main, average, steps, caring and taken');
  });
});
