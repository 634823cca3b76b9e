import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import {
  tensor, zeros, ones, full, arange, randn, cat, stack, where, tidy, keep, noGrad, isGradEnabled, grad, manualSeed,
  saveSafetensors, loadSafetensors, resolveDevice, cudaAvailable, liveTensors, nn, type Tensor,
} from '../../src/torch/index.js';
import { tempDir } from '../helpers/python.js';

describe('Tensor', () => {
  it('round-trips typed arrays and nested arrays with their dtypes', () => {
    const a = tensor(new Float64Array([1, 2, 3, 4, 5, 6]), [2, 3]);
    expect(a.shape).toEqual([2, 3]);
    expect(a.dtype).toBe('float64');
    expect(Array.from(a.data() as Float64Array)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(tensor([[1, 2], [3, 4]], { dtype: 'int64' }).data()).toEqual(new BigInt64Array([1n, 2n, 3n, 4n]));
    expect(tensor([true, false, true] as never, { dtype: 'bool' }).toArray()).toEqual([1, 0, 1]);
    expect(tensor(new Int32Array([7]), []).item()).toBe(7);
    expect(zeros([2, 2]).add(ones([2])).mul(full([1], 3)).toArray()).toEqual([3, 3, 3, 3]);
    expect(arange(5).toArray()).toEqual([0, 1, 2, 3, 4]);
  });
  it('indexes, reduces and compares', () => {
    const a = tensor([[1, 5, 3], [4, 2, 6]]);
    const [vals, idx] = a.max(1);
    expect(vals.toArray()).toEqual([5, 6]);
    expect(idx.toArray()).toEqual([1, 2]);
    expect(a.sum(0).toArray()).toEqual([5, 7, 9]);
    expect(a.mean().item()).toBeCloseTo(3.5, 6);
    expect(a.gather(1, tensor([[2], [0]], { dtype: 'int64' })).toArray()).toEqual([3, 4]);
    expect(where(a.gt(3), a, 0).toArray()).toEqual([0, 5, 0, 4, 0, 6]);
    expect(cat([a, a], 0).shape).toEqual([4, 3]);
    expect(stack([a, a], 2).shape).toEqual([2, 3, 2]);
    expect(a.slice(1, 1).toArray()).toEqual([5, 3, 2, 6]);
    expect(a.softmax(1).sum(1).toArray().map((v) => Math.round(v * 1e6) / 1e6)).toEqual([1, 1]);
  });
  it('tidy disposes what the callback made and keeps what it returns or keeps', () => {
    const live = liveTensors();
    let inner: Tensor | undefined;
    const [r, k] = tidy(() => {
      inner = randn([3]).add(1);
      const kept = keep(randn([2]));
      return [inner.mul(2), kept];
    });
    expect(inner?.isDisposed).toBe(true);
    expect(r.isDisposed).toBe(false);
    expect(k.isDisposed).toBe(false);
    r.dispose(); k.dispose();
    expect(liveTensors()).toBe(live);
    expect(() => tidy(() => Promise.resolve(1))).toThrow(/synchronous/);
  });
  it('noGrad stops recording and restores the mode, also on throw', () => {
    const w = randn([2], { requiresGrad: true });
    expect(noGrad(() => w.mul(2)).requiresGrad).toBe(false);
    expect(() => noGrad(() => { throw new Error('boom'); })).toThrow('boom');
    expect(isGradEnabled()).toBe(true);
    expect(w.mul(2).requiresGrad).toBe(true);
  });
  it('autograd.grad leaves .grad untouched; backward accumulates', () => {
    const x = tensor([1, 2, 3], { dtype: 'float64', requiresGrad: true });
    const [g] = grad([x.pow(2).sum()], [x]);
    expect(g?.toArray()).toEqual([2, 4, 6]);
    expect(x.grad).toBeNull();
    x.pow(2).sum().backward();
    x.pow(2).sum().backward();
    expect(x.grad?.toArray()).toEqual([4, 8, 12]);
    x.grad = null;
    expect(x.grad).toBeNull();
  });
  it('manualSeed makes random draws repeatable', () => {
    manualSeed(11); const a = randn([5]).toArray();
    manualSeed(11); const b = randn([5]).toArray();
    expect(a).toEqual(b);
  });
  it('to() returns the tensor itself when nothing changes, a converted copy otherwise', () => {
    const x = tensor([1.5, -2]);
    expect(x.to('float32')).toBe(x);
    expect(x.to('cpu')).toBe(x);
    expect(x.float()).toBe(x);
    const d = x.to('float64');
    expect(d).not.toBe(x);
    expect(d.dtype).toBe('float64');
    expect(x.long().toArray()).toEqual([1, -2]);
  });
  it('channels_last conversion keeps values', () => {
    const x = randn([2, 3, 4, 5]);
    const y = x.contiguous('channels_last');
    expect(y.toArray()).toEqual(x.toArray());
  });
  it('cuda: a clear error where libtorch has no CUDA', () => {
    if (cudaAvailable()) { expect(resolveDevice('cuda')).toBe('cuda'); return; }
    expect(() => resolveDevice('cuda')).toThrow(/has no CUDA.*--device cpu.*LIBTORCH/);
    expect(() => resolveDevice('tpu')).toThrow(/unknown device "tpu"/);
  });
});

describe('safetensors checkpoints', () => {
  it('round-trip a module state dict with metadata', () => {
    const dir = tempDir();
    const net = new nn.Sequential(new nn.Linear(3, 4), new nn.BatchNorm2d(4));
    saveSafetensors(join(dir, 'm.safetensors'), net.stateDict(), { epoch: '3' });
    const { tensors, metadata } = loadSafetensors(join(dir, 'm.safetensors'));
    expect(metadata.epoch).toBe('3');
    expect([...tensors.keys()].sort()).toEqual([...net.stateDict().keys()].sort());
    expect(tensors.get('1.num_batches_tracked')?.dtype).toBe('int64');
    const copy = new nn.Sequential(new nn.Linear(3, 4), new nn.BatchNorm2d(4));
    copy.loadStateDict(tensors);
    expect(copy.stateDict().get('0.weight')?.toArray()).toEqual(net.stateDict().get('0.weight')?.toArray());
  });
  it('name the file and the problem for corrupt input', () => {
    const dir = tempDir();
    const bad = join(dir, 'bad.safetensors');
    writeFileSync(bad, Buffer.from([1, 2, 3]));
    expect(() => loadSafetensors(bad)).toThrow(/bad.safetensors is not a valid safetensors file: shorter than 8 bytes/);
    const hdr = Buffer.alloc(8); hdr.writeBigUInt64LE(1000n);
    writeFileSync(bad, hdr);
    expect(() => loadSafetensors(bad)).toThrow(/header length 1000 exceeds the file/);
    expect(() => loadSafetensors(join(dir, 'missing.safetensors'))).toThrow(/cannot read checkpoint .*missing.safetensors/);
  });
});
