/** Runs reference computations in Debian's Python (torch, torchaudio, scipy, numpy) for the tests. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readNpy, writeNpy } from '../../../src/data/io/npy.js';
import type { NdArray } from '../../../src/data/io/ndarray.js';

export const PYTHON = '/usr/bin/python3';

function probe(): string | null {
  const r = spawnSync(PYTHON, ['-c', 'import torch, torchaudio, scipy, numpy'], { encoding: 'utf8' });
  if (r.error) return `${PYTHON} is absent`;
  if (r.status !== 0) return `${PYTHON} lacks torch/torchaudio/scipy/numpy: ${r.stderr.trim().split('\n').pop()}`;
  return null;
}

/** Why the Python reference is unavailable, or null when it can be used. */
export const pythonMissing = probe();
if (pythonMissing) console.warn(`SKIPPING Python reference checks: ${pythonMissing}`);

/**
 * Runs `script` with `inputs` saved as <name>.npy in a temp dir (the script sees the dir as `d`,
 * plus `load(name)` / `save(name, array)` helpers) and returns the arrays it saved.
 */
export function runPython(script: string, inputs: Record<string, Float32Array | Float64Array> = {}, outputs: string[] = []): Record<string, NdArray> {
  const dir = mkdtempSync(join(tmpdir(), 'mmgap-py-'));
  try {
    for (const [name, data] of Object.entries(inputs)) writeFileSync(join(dir, `${name}.npy`), writeNpy(data, [data.length]));
    const prelude = [
      'import sys, os, numpy as np',
      `d = ${JSON.stringify(dir)}`,
      'load = lambda n: np.load(os.path.join(d, n + ".npy"))',
      'save = lambda n, a: np.save(os.path.join(d, n + ".npy"), np.ascontiguousarray(a))',
    ].join('\n');
    const r = spawnSync(PYTHON, ['-c', `${prelude}\n${script}`], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`python failed: ${r.stderr}`);
    const out: Record<string, NdArray> = {};
    for (const name of outputs) {
      const file = join(dir, `${name}.npy`);
      out[name] = readNpy(readFileSync(file), file);
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Writes raw bytes produced by a Python snippet (`out` must be bytes) and returns them. */
export function pythonBytes(script: string): Uint8Array {
  const r = spawnSync(PYTHON, ['-c', `import sys\n${script}\nsys.stdout.buffer.write(out)`], { maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`python failed: ${r.stderr.toString()}`);
  return new Uint8Array(r.stdout);
}

/** max_i |a_i - b_i| / max(|b_i|, 1): the relative error measure used across test/data. */
export function maxRelErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length mismatch ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / Math.max(Math.abs(b[i]), 1));
  return m;
}

/** max_i |a_i - b_i|. */
export function maxAbsErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length mismatch ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
