// No leak: 1,000 training steps of a small CNN keep resident memory within 5 % of its level
// after warm-up, and the count of live native tensors does not grow.
import { describe, expect, it } from 'vitest';
import { nn, optim, randn, randint, tidy, liveTensors, manualSeed, setNumThreads } from '../../src/torch/index.js';

class SmallNet extends nn.Module {
  readonly body = this.module('body', new nn.Sequential(
    new nn.Conv2d(1, 8, 3, { padding: 1 }), new nn.BatchNorm2d(8), new nn.ReLU(), new nn.Conv2d(8, 16, 3, { stride: 2, padding: 1 }), new nn.ReLU()));
  readonly head = this.module('head', new nn.Linear(16, 10));
  readonly drop = this.module('drop', new nn.Dropout(0.2));
  forward(x: ReturnType<typeof randn>): ReturnType<typeof randn> {
    return this.head.forward(this.drop.forward(nn.F.adaptiveAvgPool2d(this.body.forward(x), 1).flatten(1)));
  }
}

describe('memory', () => {
  it('1,000 training steps: RSS growth < 5 %, live tensors do not grow', () => {
    setNumThreads(1);
    manualSeed(0);
    const net = new SmallNet();
    const opt = new optim.Adam(net.parameters(), { lr: 1e-3 });
    const x = randn([16, 1, 16, 16]);
    const y = randint(0, 10, [16]);
    const step = (): number => tidy(() => {
      opt.zeroGrad();
      const loss = nn.F.crossEntropy(net.forward(x.add(randn(x.shape).mul(0.1))), y);
      loss.backward();
      opt.step();
      return loss.item();
    });
    // Warm-up: the allocator's arenas and V8's code settle (seen 2026-12-01: 224 MB after 500
    // steps, 228 MB after 2,000, then flat within 0.3 % to 4,000, live tensors constant; with
    // only 500 steps of warm-up, a full parallel suite once measured +9 %). A leak keeps growing.
    for (let i = 0; i < 1500; i++) step();
    // Handles are small JS objects whose finalizers run when V8 collects them; collect first so
    // that RSS measures what is retained, not what awaits the next major GC.
    expect(global.gc, 'vitest must run with --expose-gc').toBeTypeOf('function');
    global.gc?.();
    const rss0 = process.memoryUsage().rss;
    const live0 = liveTensors();
    let last = 0;
    for (let i = 0; i < 1000; i++) last = step();
    global.gc?.();
    const rss1 = process.memoryUsage().rss;
    expect(Number.isFinite(last)).toBe(true);
    expect(liveTensors()).toBeLessThanOrEqual(live0); // GC may still free stray temporaries, never more alive
    expect((rss1 - rss0) / rss0).toBeLessThan(0.05);
  });

  it('tensors left to the GC are released by their finalizers', async () => {
    const before = liveTensors();
    for (let i = 0; i < 2000; i++) randn([1000]);
    for (let i = 0; i < 5 && liveTensors() > before + 100; i++) {
      await new Promise((r) => setTimeout(r, 20));
      global.gc?.();
      // Allocation pressure alone must also trigger collection: V8 knows the native bytes.
      for (let j = 0; j < 200; j++) new Uint8Array(1 << 16);
    }
    expect(liveTensors()).toBeLessThan(before + 2000);
  });
});
