/**
 * SyncBatchNorm (src/torch/nn/functional.ts syncBatchNorm, on the addon's differentiable
 * all-reduce): 2 ranks on loopback, each with part of a float64 batch, against one process's
 * BatchNorm2d on the whole batch: outputs, input gradients, weight and bias gradients (summed over
 * ranks, as DDP's reducer sums them before it averages), and running statistics after two steps.
 */
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../src/cli/launch.js';

const CHILD = fileURLToPath(new URL('../helpers/sync-bn-child.mjs', import.meta.url));

interface Step { y: number[]; dx: number[]; dw: number[]; db: number[] }
interface Case { from: number; to: number; steps: Step[]; initial: Record<string, number[]>; buffers: Record<string, number[]>; evalY: number[] }
type Out = Record<string, Case>;

function rank(r: number, world: number, port: number): Promise<Out> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [CHILD, String(r), String(world), String(port)], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, GLOG_minloglevel: '3' } });
    let stdout = '', stderr = '';
    c.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    c.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    c.on('close', (status) => (status === 0 ? resolve(JSON.parse(stdout) as Out) : reject(new Error(`rank ${r} exited ${status}: ${stderr}`))));
  });
}

/** The rows [from, to) of a flattened [8, ...] tensor. */
const rows = (xs: number[], from: number, to: number): number[] => {
  const per = xs.length / 8;
  return xs.slice(from * per, to * per);
};
const maxAbsDiff = (a: number[], b: number[]): number => {
  expect(a.length).toBe(b.length);
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - (b[i] as number))), 0);
};
const add = (a: number[], b: number[]): number[] => a.map((v, i) => v + (b[i] as number));

describe('SyncBatchNorm over 2 ranks (c10d, Gloo on loopback, float64)', () => {
  it('equals one process\'s BatchNorm on the whole batch: outputs, gradients and running statistics within 1e-10', async () => {
    const port = await freePort();
    const [single, r0, r1] = await Promise.all([rank(0, 1, 0), rank(0, 2, port), rank(1, 2, port)]);
    const names = Object.keys(single!);
    expect(names).toHaveLength(3);
    const worst: Record<string, number> = {};
    const note = (what: string, d: number): void => { worst[what] = Math.max(worst[what] ?? 0, d); };
    for (const name of names) {
      const ref = single![name]!, a = r0![name]!, b = r1![name]!;
      expect([a.from, a.to, b.to]).toEqual([0, b.from, 8]);
      ref.steps.forEach((s, k) => {
        for (const part of [a, b]) {
          note('y', maxAbsDiff(part.steps[k]!.y, rows(s.y, part.from, part.to)));
          note('dx', maxAbsDiff(part.steps[k]!.dx, rows(s.dx, part.from, part.to)));
        }
        note('dweight', maxAbsDiff(add(a.steps[k]!.dw, b.steps[k]!.dw), s.dw));
        note('dbias', maxAbsDiff(add(a.steps[k]!.db, b.steps[k]!.db), s.db));
      });
      for (const [buf, v] of Object.entries(ref.buffers)) {
        // Every rank holds the same statistics, those of the whole batch (unbiased variance, momentum).
        note('running stats', maxAbsDiff(a.buffers[buf]!, v));
        note('running stats', maxAbsDiff(b.buffers[buf]!, v));
      }
      expect(a.buffers.num_batches_tracked).toEqual([2]);
      note('eval y', Math.max(maxAbsDiff(a.evalY, rows(ref.evalY, a.from, a.to)), maxAbsDiff(b.evalY, rows(ref.evalY, b.from, b.to))));
    }
    console.log(`SyncBatchNorm vs BatchNorm2d, max |difference|: ${Object.entries(worst).map(([k, v]) => `${k} ${v.toExponential(1)}`).join(', ')}`);
    for (const [what, d] of Object.entries(worst)) expect(d, what).toBeLessThan(1e-10);
    // The statistics moved: a test that compared untouched buffers would pass trivially.
    const even = r0!['4-D, even split']!;
    expect(maxAbsDiff(even.buffers.running_var!, even.initial.running_var!)).toBeGreaterThan(0.1);
  });
});
