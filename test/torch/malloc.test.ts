// The allocator policy set at load (native/src/addon.cc keepFreedMemory): by default memory freed
// at the end of a training step is reused by the next step instead of being handed back to the
// kernel and faulted in afresh. Counted in minor page faults (Linux's /proc/self/stat) of fresh
// processes, since the policy is set once per process.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const glibc = process.platform === 'linux' &&
  (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header?.glibcVersionRuntime !== undefined;

/** Runs `body` (an ES module; `minflt()` and the torch index's exports as `torch` in scope) in a child under `env`; its last stdout line, parsed. */
function child<T>(body: string, env: Record<string, string>, nodeArgs: string[] = []): T {
  const script = `
    import { readFileSync } from 'node:fs';
    const torch = await import(${JSON.stringify(new URL('../../dist/src/torch/index.js', import.meta.url).pathname)});
    const minflt = () => Number(readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ')[7]);
    ${body}`;
  const out = execFileSync(process.execPath, [...nodeArgs, '--input-type=module', '-e', script], { env: { ...process.env, MMGAP_MALLOC: '', ...env }, encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').pop() as string) as T;
}

/** Trains a ResNet18 on 8 x 3 x 64 x 64 for 16 steps in a child; the policy and the page faults of steps 6-15 (after the heap has grown to its working size). */
function steadyFaults(env: Record<string, string>): { policy: string; faults: number } {
  return child(`
    const { nn, optim, randn, randint, tidy, manualSeed, setNumThreads, mallocPolicy } = torch;
    setNumThreads(1); manualSeed(0);
    const net = new nn.ResNet18({ inChannels: 3, numClasses: 4 });
    const opt = new optim.SGD(net.parameters(), { lr: 0.01 });
    const x = randn([8, 3, 64, 64]), y = randint(0, 4, [8]);
    const step = () => tidy(() => { opt.zeroGrad(); const l = nn.F.crossEntropy(net.forward(x), y); l.backward(); opt.step(); l.item(); });
    for (let i = 0; i < 6; i++) step();
    const before = minflt();
    for (let i = 6; i < 16; i++) step();
    console.log(JSON.stringify({ policy: mallocPolicy, faults: minflt() - before }));`, env);
}

describe.runIf(glibc)('allocator policy', () => {
  it('by default, training steps reuse freed memory: < 1/4 of the page faults of glibc\'s defaults (MMGAP_MALLOC=system)', () => {
    const kept = steadyFaults({});
    // glibc's defaults with its dynamic mmap threshold pinned at the initial 128 KiB (setting it
    // turns the adjustment off): left free to rise after large blocks are freed, it sometimes moved
    // the activations into the heap and the baseline faulted only ~2,900 times (a red CI run).
    const system = steadyFaults({ MMGAP_MALLOC: 'system', MALLOC_MMAP_THRESHOLD_: '131072' });
    expect(kept.policy).toBe('keep-freed');
    expect(system.policy).toBe('system');
    // Measured: 600-5,200 against ~585,000 (steps 6-15; unpinned, 58,000-139,000 and once 2,900).
    expect(system.faults).toBeGreaterThan(20_000);
    expect(kept.faults).toBeLessThan(system.faults / 4);
  }, 120_000);

  // A loader worker writes each batch of frames into a buffer of its own and transfers it: 77 MB at
  // 224 pixels. In a thread's own arena (64 MiB heaps) such a block is mmap'd and unmapped every
  // batch whatever M_MMAP_MAX says; with one arena it is reused.
  it('a worker thread\'s 80 MB buffers, transferred and freed in the main thread, are reused: < 1/4 of the page faults of glibc\'s defaults', () => {
    const body = `
      const { Worker } = await import('node:worker_threads');
      const w = new Worker(\`
        const { parentPort } = require('node:worker_threads');
        parentPort.on('message', () => { const b = new Float32Array(20 * 2 ** 20); b.fill(1); parentPort.postMessage(b, [b.buffer]); });\`, { eval: true, execArgv: [] });
      const round = () => new Promise((r) => { w.once('message', (b) => r(b[7])); w.postMessage(0); });
      for (let i = 0; i < 4; i++) { await round(); globalThis.gc(); }
      const before = minflt();
      for (let i = 0; i < 8; i++) { await round(); globalThis.gc(); }
      const faults = minflt() - before;
      await w.terminate();
      console.log(JSON.stringify({ policy: torch.mallocPolicy, faults }));`;
    const kept = child<{ policy: string; faults: number }>(body, {}, ['--expose-gc']);
    const system = child<{ policy: string; faults: number }>(body, { MMGAP_MALLOC: 'system' }, ['--expose-gc']);
    expect(kept.policy).toBe('keep-freed');
    // 8 rounds of 20,480 pages each when every buffer is mapped afresh
    expect(system.faults).toBeGreaterThan(8 * 20_480 * 0.9);
    expect(kept.faults).toBeLessThan(system.faults / 4);
  }, 120_000);

  it('leaves glibc as the user configured it (any MALLOC_*_ variable)', () => {
    expect(steadyFaults({ MALLOC_ARENA_MAX: '2' }).policy).toBe('user');
  }, 120_000);
});
