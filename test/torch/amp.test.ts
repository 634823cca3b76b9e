// Mixed precision against PyTorch 1.13 (Debian's python3-torch):
// - under CPU autocast (bfloat16), a conv2d -> linear -> cross-entropy forward and backward equals
//   torch.autocast's on the same inputs and weights: same dtypes, values within 1e-2 relative
//   (max |ours - theirs| / max |theirs|, per tensor; bfloat16 keeps 8 significant bits, 2^-8 = 3.9e-3);
// - the autocast state (nesting, enabled=false subregions, exceptions, the cast cache) behaves as
//   torch.autocast's context manager;
// - GradScaler's scale, growth tracker, skipped steps and parameters equal torch.cuda.amp.GradScaler's,
//   exactly, on scripted gradients with inf and NaN. GradScaler's two kernels are CUDA-only in 1.13,
//   so the reference runs the real GradScaler class on the CPU with those two kernels written in
//   Python after aten/src/ATen/native/cuda/AmpKernels.cu (and `python -O`, which drops its is_cuda asserts).
import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  autocast, autocastState, checkPrecision, cpuFlags, inferenceMode, precisionSlowdown, isGradEnabled, precisionProblem, GradScaler, nn, optim, noGrad, manualSeed, randn, randint, tensor,
  loadSafetensors, saveSafetensors, type Tensor,
} from '../../src/torch/index.js';
import { relErr } from '../helpers/compare.js';
import { runPython, tempDir } from '../helpers/python.js';


const AUTOCAST_REFERENCE = `
import sys, json, torch
import torch.nn.functional as F
from st import load, save
torch.set_num_threads(1)
d = sys.argv[1]
t = load(d + '/in.st')
x = t['x'].clone().requires_grad_(True)
cw = t['cw'].clone().requires_grad_(True); cb = t['cb'].clone().requires_grad_(True)
lw = t['lw'].clone().requires_grad_(True); lb = t['lb'].clone().requires_grad_(True)
with torch.autocast('cpu', dtype=torch.bfloat16):
    h = F.conv2d(x, cw, cb, padding=1)
    z = F.linear(F.relu(h).flatten(1), lw, lb)
    loss = F.cross_entropy(z, t['y'])
loss.backward()
print(json.dumps({'h': str(h.dtype), 'z': str(z.dtype), 'loss': str(loss.dtype), 'cw_grad': str(cw.grad.dtype)}))
save(d + '/out.st', {'h': h.float(), 'z': z.float(), 'loss': loss.reshape(1), 'x_grad': x.grad, 'cw_grad': cw.grad, 'cb_grad': cb.grad,
                     'lw_grad': lw.grad, 'lb_grad': lb.grad})
`;

describe('CPU autocast (bfloat16) matches torch.autocast', () => {
  it('conv2d -> linear -> cross-entropy: forward and backward', () => {
    manualSeed(5);
    const inputs: Record<string, Tensor> = {
      x: randn([4, 3, 8, 8]), cw: randn([6, 3, 3, 3]).mul(0.3), cb: randn([6]).mul(0.1),
      lw: randn([5, 6 * 8 * 8]).mul(0.05), lb: randn([5]).mul(0.1), y: randint(0, 5, [4]),
    };
    const dir = tempDir();
    saveSafetensors(join(dir, 'in.st'), inputs);
    const dtypes = JSON.parse(runPython(AUTOCAST_REFERENCE, [dir])) as Record<string, string>;
    const ref = loadSafetensors(join(dir, 'out.st')).tensors;
    expect(dtypes).toEqual({ h: 'torch.bfloat16', z: 'torch.bfloat16', loss: 'torch.float32', cw_grad: 'torch.float32' });

    const leaf = (k: string): Tensor => (inputs[k] as Tensor).clone().requiresGrad_();
    const [x, cw, cb, lw, lb] = ['x', 'cw', 'cb', 'lw', 'lb'].map(leaf) as [Tensor, Tensor, Tensor, Tensor, Tensor];
    const { h, z, loss } = autocast('cpu', 'bfloat16', () => {
      const h = nn.F.conv2d(x, cw, cb, { padding: 1 });
      const z = nn.F.linear(nn.F.relu(h).flatten(1), lw, lb);
      return { h, z, loss: nn.F.crossEntropy(z, inputs.y as Tensor) };
    });
    loss.backward();
    expect([h.dtype, z.dtype, loss.dtype, cw.grad!.dtype]).toEqual(['bfloat16', 'bfloat16', 'float32', 'float32']);
    const TOL = 1e-2;
    expect(relErr(h, ref.get('h')!)).toBeLessThan(TOL);
    expect(relErr(z, ref.get('z')!)).toBeLessThan(TOL);
    expect(relErr(loss.reshape([1]), ref.get('loss')!)).toBeLessThan(TOL);
    for (const [name, p] of [['x_grad', x], ['cw_grad', cw], ['cb_grad', cb], ['lw_grad', lw], ['lb_grad', lb]] as [string, Tensor][]) {
      expect(relErr(p.grad!, ref.get(name)!), name).toBeLessThan(TOL);
    }
    // The same computation in float32 is not what autocast gives: the comparison can fail.
    const z32 = noGrad(() => nn.F.linear(nn.F.relu(nn.F.conv2d(x, cw, cb, { padding: 1 })).flatten(1), lw, lb));
    expect(relErr(z32, ref.get('z')!)).toBeGreaterThan(1e-4);
  });
});

describe('autocast regions', () => {
  const w = randn([3, 4]).requiresGrad_();
  const x = randn([2, 4]);

  it('nest, switch off in an enabled=false subregion, and restore the previous state on exit and on exceptions', () => {
    expect(autocastState('cpu').enabled).toBe(false);
    autocast('cpu', 'bfloat16', () => {
      expect(nn.F.linear(x, w).dtype).toBe('bfloat16');
      autocast('cpu', 'bfloat16', () => { expect(nn.F.linear(x, w).dtype).toBe('float32'); }, { enabled: false });
      expect(autocastState('cpu').enabled).toBe(true);
      expect(() => autocast('cpu', 'bfloat16', () => { throw new Error('inside'); }, { enabled: false })).toThrow('inside');
      expect(nn.F.linear(x, w).dtype).toBe('bfloat16');
    });
    expect(autocastState('cpu')).toEqual({ enabled: false, dtype: 'bfloat16' });
    expect(() => autocast('cpu', 'bfloat16', () => { throw new Error('boom'); })).toThrow('boom');
    expect(autocastState('cpu').enabled).toBe(false);
    expect(nn.F.linear(x, w).dtype).toBe('float32');
  });

  it('caches cast weights until the outermost region ends, as torch.autocast', () => {
    const p = tensor([[1, 2], [3, 4]]).requiresGrad_();
    const v = tensor([[1, 1]]);
    const bump = (): void => { noGrad(() => p.add_(1)); };
    autocast('cpu', 'bfloat16', () => {
      const before = nn.F.linear(v, p).float().toArray();
      bump();
      // Inside the region the cached bfloat16 copy of the leaf weight is reused (stale).
      expect(nn.F.linear(v, p).float().toArray()).toEqual(before);
      autocast('cpu', 'bfloat16', () => undefined);
      // Leaving an inner region keeps the cache.
      expect(nn.F.linear(v, p).float().toArray()).toEqual(before);
    });
    // Leaving the outermost region cleared it: the new weights are cast afresh.
    expect(autocast('cpu', 'bfloat16', () => nn.F.linear(v, p).float().toArray())).toEqual([5, 9]);
    // Without the cache every call casts anew.
    autocast('cpu', 'bfloat16', () => {
      bump();
      expect(nn.F.linear(v, p).float().toArray()).toEqual([7, 11]);
    }, { cacheEnabled: false });
  });

  it('rejects what libtorch cannot autocast, in one line naming the fix', () => {
    expect(() => autocast('cpu', 'float16', () => 0)).toThrow(/CPU autocast supports only bfloat16/);
    expect(() => checkPrecision('fp16', 'cpu')).toThrow(/^precision fp16 needs a CUDA device.*Fix: use --precision bf16/);
    expect(precisionProblem('bf16', 'cuda:1', [7, 5])).toMatch(/GPU cuda:1 \(compute capability 7\.5\) has no bfloat16.*Fix: use --precision fp16/);
    expect(precisionProblem('bf16', 'cuda', [8, 0])).toBeNull();
    expect(precisionProblem('bf16', 'cpu', null)).toBeNull();
    expect(precisionProblem('fp32', 'cpu', null)).toBeNull();
  });

  it('notes bf16 on a CPU without libtorch\'s bf16 kernels (AVX512BW, VL and DQ), from /proc/cpuinfo\'s flags', () => {
    const dir = tempDir();
    const cpuinfo = (flags: string): string => {
      const path = join(dir, `cpuinfo-${flags.length}`);
      writeFileSync(path, `processor\t: 0\nmodel name\t: test\nflags\t\t: ${flags}\nbogomips\t: 4890\n\nprocessor\t: 1\nflags\t\t: other\n`);
      return path;
    };
    // This session's AMD EPYC (Zen 3): AVX2, no AVX512; an Intel Sapphire Rapids: AVX512 with BF16 and AMX.
    const zen3 = cpuFlags(cpuinfo('fpu sse sse2 ssse3 sse4_1 sse4_2 avx f16c fma avx2 bmi2 sha_ni vaes'));
    const spr = cpuFlags(cpuinfo('fpu sse sse2 avx avx2 avx512f avx512dq avx512bw avx512vl avx512_vnni avx512_bf16 amx_bf16'));
    expect(zen3.has('avx2')).toBe(true);
    expect(zen3.has('other')).toBe(false);
    expect(precisionSlowdown('bf16', 'cpu', zen3)).toMatch(/^precision bf16 on this CPU \(no avx512bw, avx512vl, avx512dq\).*Fix: use --precision fp32/);
    expect(precisionSlowdown('bf16', 'cpu', spr)).toBeNull();
    expect(precisionSlowdown('fp32', 'cpu', zen3)).toBeNull();
    expect(precisionSlowdown('bf16', 'cuda', zen3)).toBeNull();
    // Nothing known (no /proc/cpuinfo, or not an x86 CPU): nothing said.
    expect(cpuFlags(join(dir, 'missing')).size).toBe(0);
    expect(precisionSlowdown('bf16', 'cpu', new Set())).toBeNull();
    expect(precisionSlowdown('bf16', 'cpu', new Set(['fp', 'asimd', 'bf16']))).toBeNull();
  });
});

describe('inferenceMode', () => {
  it('turns gradient recording off inside, nests, restores on exceptions, and makes inference tensors', () => {
    expect(isGradEnabled()).toBe(true);
    const t = inferenceMode(() => {
      expect(isGradEnabled()).toBe(false);
      inferenceMode(() => undefined);
      expect(isGradEnabled()).toBe(false);
      return randn([3]);
    });
    expect(isGradEnabled()).toBe(true);
    expect(() => inferenceMode(() => { throw new Error('inside'); })).toThrow('inside');
    expect(isGradEnabled()).toBe(true);
    // Not merely no-grad: its tensors cannot be saved for a backward outside (libtorch refuses, in a JS error).
    const w = randn([3]).requiresGrad_();
    expect(() => w.mul(t)).toThrow(/[Ii]nference tensors cannot be saved for backward/);
  });
});

// The real GradScaler with its two CUDA kernels in Python (AmpKernels.cu: amp_non_finite_check_and_unscale_cuda_
// and amp_update_scale_cuda_kernel), on the CPU.
const SCALER_REFERENCE = `
import os, sys, json
if not sys.flags.optimize:
    os.execv(sys.executable, [sys.executable, '-O'] + sys.argv)
import torch
import torch.cuda.amp.grad_scaler as gs

def unscale(grads, found_inf, inv_scale):
    inv = inv_scale.item()
    for g in grads:
        if not bool(torch.isfinite(g).all()):
            found_inf.fill_(1.0)
        if inv != 1.0:
            g.mul_(inv_scale)

def update_scale(scale, tracker, found_inf, growth, backoff, interval):
    if found_inf.item():
        scale.fill_(scale.item() * backoff)
        tracker.fill_(0)
    else:
        successful = int(tracker.item()) + 1
        if successful == interval:
            new = torch.tensor(scale.item() * growth, dtype=torch.float32)
            if bool(torch.isfinite(new)):
                scale.copy_(new)
            tracker.fill_(0)
        else:
            tracker.fill_(successful)
    return scale

torch._amp_foreach_non_finite_check_and_unscale_ = unscale
torch._amp_update_scale_ = update_scale
gs.amp_definitely_not_available = lambda: False
cfg = json.loads(sys.argv[1])
w = torch.tensor([1.0, -2.0, 0.5], requires_grad=True)
opt = torch.optim.SGD([w], lr=0.01)
scaler = gs.GradScaler(**cfg['scaler'])
rows = []
for c in cfg['coefs']:
    opt.zero_grad(set_to_none=True)
    loss = (w * torch.tensor([float(v) for v in c], dtype=torch.float32)).sum()
    scaler.scale(loss).backward()
    scaler.step(opt)
    scaler.update()
    rows.append({'scale': scaler.get_scale(), 'tracker': int(scaler._growth_tracker.item()), 'w': w.tolist()})
print(json.dumps(rows))
`;

describe('GradScaler matches torch.cuda.amp.GradScaler', () => {
  // Coefficients travel as JSON; inf and NaN as strings that both sides parse as numbers.
  const INF = 'Infinity', NAN = 'NaN';
  type Coef = number | typeof INF | typeof NAN;
  const sequences: { name: string; scaler: Record<string, number>; coefs: Coef[][] }[] = [
    {
      name: 'growth interval 3, a very large init scale that overflows the gradients, inf and NaN',
      scaler: { init_scale: 3e38, growth_factor: 2, backoff_factor: 0.5, growth_interval: 3 },
      coefs: [[1, 2, 3], [1, 1, 1], [INF, 1, 1], [0.5, 0.25, 1], [1, NAN, 1], [1, 2, 3], [1, 2, 3], [1, 2, 3], [1, 2, 3], [1, 2, 3],
        [-1, 1, 2], [1, 1, INF], [2, 2, 2], [2, 2, 2], [2, 2, 2], [2, 2, 2]],
    },
  ];
  // The defaults (init 65536, x2 every 2000 clean steps, x0.5 on inf): 2,000 clean steps, then inf, NaN, clean.
  const long: Coef[][] = [...Array.from({ length: 2001 }, (_, i) => [1e-3 * (1 + (i % 7)), -1e-3, 2e-3]), [INF, 1, 1], [NAN, 1, 1], [1, 1, 1]];
  sequences.push({ name: 'defaults over 2,004 steps', scaler: {}, coefs: long });

  for (const seq of sequences) {
    it(seq.name, () => {
      const ref = JSON.parse(runPython(SCALER_REFERENCE, [JSON.stringify({ scaler: seq.scaler, coefs: seq.coefs })]).replace(/\bNaN\b/g, 'null')) as
        { scale: number; tracker: number; w: (number | null)[] }[];
      const w = tensor([1.0, -2.0, 0.5]).requiresGrad_();
      const opt = new optim.SGD([w], { lr: 0.01 });
      const s = seq.scaler;
      const scaler = new GradScaler({
        ...(s.init_scale !== undefined && { initScale: s.init_scale }), ...(s.growth_factor !== undefined && { growthFactor: s.growth_factor }),
        ...(s.backoff_factor !== undefined && { backoffFactor: s.backoff_factor }), ...(s.growth_interval !== undefined && { growthInterval: s.growth_interval }),
      });
      // GradScaler backs off exactly after a skipped step.
      let skippedRef = 0, prev = Math.fround(s.init_scale ?? 2 ** 16);
      seq.coefs.forEach((c, i) => {
        opt.zeroGrad();
        scaler.scaleLoss(w.mul(tensor(c.map(Number))).sum()).backward();
        scaler.step(opt);
        scaler.update();
        const r = ref[i]!;
        if (r.scale < prev) skippedRef++;
        prev = r.scale;
        expect([i, scaler.scale, scaler.growthTracker]).toEqual([i, r.scale, r.tracker]);
        expect(w.toArray(), `step ${i}`).toEqual(r.w);
      });
      expect(skippedRef).toBeGreaterThan(1);
      expect(scaler.skippedSteps).toBe(skippedRef);
    }, 120_000);
  }

  it('counts skipped steps, leaves parameters untouched on them, and refuses misuse', () => {
    const w = tensor([1, 2]).requiresGrad_();
    const opt = new optim.SGD([w], { lr: 0.1 });
    const scaler = new GradScaler({ initScale: 4 });
    opt.zeroGrad();
    scaler.scaleLoss(w.mul(tensor([Infinity, 1])).sum()).backward();
    expect(scaler.step(opt)).toBe(false);
    expect(() => scaler.step(opt)).toThrow(/already called since the last update/);
    scaler.update();
    expect([scaler.skippedSteps, scaler.scale, w.toArray()]).toEqual([1, 2, [1, 2]]);
    opt.zeroGrad();
    scaler.scaleLoss(w.sum()).backward();
    scaler.unscale_(opt);
    // Unscaled: the true gradient (ones), whatever the scale.
    expect(w.grad!.toArray()).toEqual([1, 1]);
    expect(() => scaler.unscale_(opt)).toThrow(/already called/);
    expect(scaler.step(opt)).toBe(true);
    scaler.update();
    w.toArray().forEach((v, i) => expect(v).toBeCloseTo([0.9, 1.9][i] as number, 6));
    expect(() => scaler.update()).toThrow(/no gradients were checked/);
    expect(() => new GradScaler({ backoffFactor: 1 })).toThrow(/backoffFactor must be in \(0, 1\)/);
  });
});
