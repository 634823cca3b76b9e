// The allocator policy set at load (native/src/addon.cc keepFreedMemory): by default memory freed
// at the end of a training step is reused by the next step instead of being handed back to the
// kernel and faulted in afresh. Counted in minor page faults (Linux's /proc/self/stat) of fresh
// processes, since the policy is set once per process.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const glibc = process.platform === 'linux' &&
  (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header?.glibcVersionRuntime !== undefined;

/** Trains a ResNet18 on 8 x 3 x 64 x 64 for 16 steps in a child; the policy and the page faults of steps 6-15 (after the heap has grown to its working size). */
function steadyFaults(env: Record<string, string>): { policy: string; faults: number } {
  const script = `
    import { readFileSync } from 'node:fs';
    const { nn, optim, randn, randint, tidy, manualSeed, setNumThreads, mallocPolicy } = await import(${JSON.stringify(new URL('../../dist/src/torch/index.js', import.meta.url).pathname)});
    const minflt = () => Number(readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ')[7]);
    setNumThreads(1); manualSeed(0);
    const net = new nn.ResNet18({ inChannels: 3, numClasses: 4 });
    const opt = new optim.SGD(net.parameters(), { lr: 0.01 });
    const x = randn([8, 3, 64, 64]), y = randint(0, 4, [8]);
    const step = () => tidy(() => { opt.zeroGrad(); const l = nn.F.crossEntropy(net.forward(x), y); l.backward(); opt.step(); l.item(); });
    for (let i = 0; i < 6; i++) step();
    const before = minflt();
    for (let i = 6; i < 16; i++) step();
    console.log(JSON.stringify({ policy: mallocPolicy, faults: minflt() - before }));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, MMGAP_MALLOC: '', ...env }, encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').pop() as string) as { policy: string; faults: number };
}

describe.runIf(glibc)('allocator policy', () => {
  it('by default, training steps reuse freed memory: < 1/4 of the page faults of glibc\'s defaults (MMGAP_MALLOC=system)', () => {
    const kept = steadyFaults({});
    const system = steadyFaults({ MMGAP_MALLOC: 'system' });
    expect(kept.policy).toBe('keep-freed');
    expect(system.policy).toBe('system');
    // Measured: ~5,000 against ~70,000 (steps 6-15).
    expect(system.faults).toBeGreaterThan(20_000);
    expect(kept.faults).toBeLessThan(system.faults / 4);
  }, 120_000);

  it('leaves glibc as the user configured it (any MALLOC_*_ variable)', () => {
    expect(steadyFaults({ MALLOC_ARENA_MAX: '2' }).policy).toBe('user');
  }, 120_000);
});
