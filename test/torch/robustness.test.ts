// Bad use must never crash the process: 1,000 randomly malformed operator calls each either
// succeed or throw a JS Error that names the operator; misuse of tensors gets named errors too.
import { describe, expect, it } from 'vitest';
import { tensor, randn, zeros, ops, nn, type Tensor, type DType } from '../../src/torch/index.js';
import { native } from '../../src/torch/native.js';
import { SeededRandom } from '../../src/core/prng.js';


describe('malformed calls', () => {
  it('1,000 random malformed calls: 0 crashes, every failure a named JS error', () => {
    const rng = new SeededRandom(42);
    const rnd = (): number => rng.uniform();
    const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
    const dtypes: DType[] = ['float32', 'float64', 'int64', 'bool', 'uint8', 'int32'];
    const randTensor = (): Tensor => {
      const dims = Math.floor(rnd() * 5);
      const shape = Array.from({ length: dims }, () => Math.floor(rnd() * 5));
      return zeros(shape, { dtype: pick(dtypes) }).add(1);
    };
    const disposed = (): Tensor => { const t = randn([2, 2]); t.dispose(); return t; };
    const values: (() => unknown)[] = [
      randTensor, randTensor, randTensor, disposed,
      () => Math.floor(rnd() * 10) - 3, () => NaN, () => Infinity, () => 1e12, () => 0.5, () => -1,
      () => 'mean', () => '', () => null, () => undefined, () => true,
      () => [randTensor(), randTensor()], () => [1, 2], () => [-1], () => [1.5, 'x'], () => ({ a: 1 }), () => [disposed()],
    ];
    const fns: ((...a: unknown[]) => unknown)[] = [
      ops.conv2d, ops.matmul, ops.add, ops.mul, ops.cat, ops.index_select, ops.gather, ops.cross_entropy_loss, ops.batch_norm,
      ops.max_pool2d, ops.view, ops.reshape, ops.softmax, ops.stft, ops.upsample_bilinear2d, ops.linear, ops.narrow, ops.select,
      ops.expand, ops.where, ops.sum, ops.mean, ops.permute, ops.adaptive_avg_pool2d, ops.log_softmax, ops.dropout, ops.mm,
      ops.scatter, ops.index, ops.slice, ops.transpose, ops.copy_, ops._foreach_add_, ops.embedding,
    ] as ((...a: unknown[]) => unknown)[];
    let ok = 0, failed = 0;
    for (let i = 0; i < 1000; i++) {
      const fn = pick(fns);
      const args = Array.from({ length: 1 + Math.floor(rnd() * 5) }, () => pick(values)());
      try {
        fn(...args);
        ok++;
      } catch (e) {
        expect(e).toBeInstanceOf(Error);
        expect((e as Error).message).toMatch(/aten::/);
        failed++;
      }
    }
    expect(ok + failed).toBe(1000);
    expect(failed).toBeGreaterThan(700); // malformed on purpose: most must be refused
  });

  it('names the op and the shapes on a shape mismatch', () => {
    expect(() => ops.mm(randn([2, 3]), randn([2, 3]))).toThrow(/aten::mm\(self=Tensor\[2, 3\] float32, mat2=Tensor\[2, 3\] float32\): .*cannot be multiplied/);
  });
  it('names the dtypes on a dtype mismatch', () => {
    expect(() => ops.mm(randn([2, 3]), randn([3, 2], { dtype: 'float64' }))).toThrow(/float64.*expected.*|expected.*dtype|scalar type/i);
  });
  it('refuses a tensor after dispose', () => {
    const t = randn([2]);
    t.dispose();
    expect(t.isDisposed).toBe(true);
    expect(() => t.add(1)).toThrow(/used after dispose/);
    expect(() => t.shape).toThrow(/used after dispose/);
  });
  it('refuses wrong argument types with the argument name', () => {
    expect(() => ops.conv2d(randn([1, 1, 4, 4]), randn([1, 1, 3, 3]), null, 'x' as never)).toThrow(/aten::conv2d/);
    expect(() => native.callOp(0x7fffffff, [])).toThrow(/unknown operator id/);
    expect(() => native.opHandle('aten::no_such_op', '')).toThrow(/not in this libtorch/);
    expect(() => native.fromBuffer(new Float32Array(3), [2, 2], 6)).toThrow(/12 bytes given for Tensor\[2, 2\] float32/);
    expect(() => native.dispose({} as never)).toThrow(/expected a Tensor/);
    expect(() => tensor(new Float32Array(3), [2, 2])).toThrow(/holds 4 elements but 3 were given/);
    expect(() => tensor([[1, 2], [3]])).toThrow(/ragged/);
    expect(() => randn([2]).item()).toThrow(/2 elements/);
  });
  it('refuses a mismatched state dict and a bad gradient', () => {
    const lin = new nn.Linear(3, 2);
    expect(() => lin.loadStateDict({ weight: randn([2, 4]), bias: randn([2]) })).toThrow(/"weight": shape \[2,4\] does not fit \[2,3\]/);
    expect(() => lin.loadStateDict({ weight: randn([2, 3]) })).toThrow(/missing "bias"/);
    expect(() => { lin.weight.grad = randn([3, 3]); }).toThrow(/setGrad: gradient Tensor\[3, 3\] float32 does not match Tensor\[2, 3\] float32/);
  });
  it('backward of a non-scalar without a gradient is an error, not a crash', () => {
    const x = randn([3], { requiresGrad: true });
    expect(() => x.mul(2).backward()).toThrow(/grad can be implicitly created only for scalar outputs/);
  });
  it('a C++ exception outside the dispatcher call (an impossible allocation in fromBuffer) is a JS error naming the function, not an abort', () => {
    // at::empty runs before fromBuffer compares byte counts: 2^62 float32 elements cannot be allocated.
    expect(() => native.fromBuffer(new Float32Array(1), [2 ** 31, 2 ** 31], 6)).toThrow(/^fromBuffer: /);
    // The process goes on.
    expect(tensor([1, 2]).sum().item()).toBe(3);
  });
});
