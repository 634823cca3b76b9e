/**
 * `mmgap diagnose --predictions`: a file written by Debian's PyTorch gives the gaps and the GMM of
 * mmgap's own run diagnosis (src/train/diagnostics.ts) on the same probabilities; logits equal
 * their softmax; bad input is one line naming the file, the sample and the fix. No libtorch: the
 * CLI runs with a trainer loader that fails if called.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/cli.js';
import { diagnose } from '../../src/train/diagnostics.js';
import type { GmmDiagnostics } from '../../src/train/types.js';
import { memoryIo } from '../cli/helpers/memory-io.js';
import { PYTHON, tempDir } from '../helpers/python.js';
import { npzBytes } from './helpers/npz.js';

/** Runs the CLI with no engine: any attempt to load libtorch fails the test. */
async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = memoryIo();
  const code = await runCli(argv, io, () => Promise.reject(new Error('the engine was loaded')));
  return { code, out: io.out, err: io.err };
}

interface Outputs { gaps: { id: string; label: number; gap: number; gamma: number; dominant: string; corrupted: string }[]; json: { gmm: GmmDiagnostics; scores: Record<string, string>; imbalancedIds: string[] } }

/** Diagnoses `file` into a fresh directory and reads gaps.csv and diagnosis.json back. */
async function diagnoseFile(file: string, ...flags: string[]): Promise<Outputs> {
  const out = tempDir('mmgap-diag-out-');
  const r = await cli(['diagnose', '--predictions', file, '--out', out, '--json', ...flags]);
  expect(r.code, r.err).toBe(0);
  const line = JSON.parse(r.out.trimEnd().split('\n').pop() as string) as { files: { gaps: string } };
  expect(line.files.gaps).toBe(join(out, 'gaps.csv'));
  expect(readFileSync(join(out, 'report.html'), 'utf8')).toMatch(/data-chart="gaps".*<svg/s);
  const [header, ...lines] = readFileSync(join(out, 'gaps.csv'), 'utf8').trimEnd().split('\n');
  expect(header).toBe('id,label,gap,gamma,dominant,corrupted,pred,pred_audio,pred_visual');
  return {
    gaps: lines.map((l) => {
      const [id, label, gap, gamma, dominant, corrupted] = l.split(',');
      return { id, label: Number(label), gap: Number(gap), gamma: Number(gamma), dominant, corrupted };
    }),
    json: JSON.parse(readFileSync(join(out, 'diagnosis.json'), 'utf8')) as Outputs['json'],
  };
}

/** Equal GMM fits: the same decision and parameters within `tol`. */
function expectSameGmm(a: GmmDiagnostics, b: GmmDiagnostics, tol: number): void {
  expect(a.on).toBe(b.on);
  expect(a.imbalanced).toBe(b.imbalanced);
  expect(a.balanced).toBe(b.balanced);
  for (const k of ['means', 'variances', 'weights'] as const) a[k].forEach((v, j) => expect(Math.abs(v - b[k][j]), k).toBeLessThanOrEqual(tol));
  for (const k of ['bic1', 'bic2', 'shareImbalanced'] as const) expect(Math.abs(a[k] - b[k]), k).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(b[k])));
  expect(Math.abs((a.auroc ?? NaN) - (b.auroc ?? NaN))).toBeLessThanOrEqual(tol);
}

const torchMissing = ((): string | null => {
  // find_spec: present or not, without the seconds an import of torch takes.
  const r = spawnSync(PYTHON, ['-c', 'import importlib.util as u, sys; sys.exit(not (u.find_spec("torch") and u.find_spec("numpy")))'], { encoding: 'utf8' });
  return r.error ? `${PYTHON} is absent` : r.status !== 0 ? `${PYTHON} lacks torch/numpy` : null;
})();
if (torchMissing) console.warn(`SKIPPING the PyTorch-written predictions checks: ${torchMissing}`);

/** A tiny random two-head model in PyTorch: both modalities informative, except the audio of a corrupted quarter. */
const WRITER = `
import json, sys, numpy as np, torch
torch.manual_seed(0)
d = sys.argv[1]
N, K, D = 240, 6, 12
labels = torch.randint(0, K, (N,))
corrupted = torch.rand(N) < 0.25
onehot = torch.nn.functional.one_hot(labels, K).float()
xa = torch.randn(N, D); xa[:, :K] += 3 * onehot; xa[corrupted] = torch.randn(int(corrupted.sum()), D)
xv = torch.randn(N, D); xv[:, :K] += 3 * onehot
heads = {m: torch.nn.Linear(D, K) for m in ('audio', 'visual')}
with torch.no_grad():
    for h in heads.values(): h.weight[:, :K] += 2 * torch.eye(K)
    logits = {'audio': heads['audio'](xa), 'visual': heads['visual'](xv)}
probs = {m: z.softmax(1).numpy() for m, z in logits.items()}
ids = np.array(['clip-%03d' % i for i in range(N)])
meta = dict(labels=labels.numpy(), ids=ids, corrupted=corrupted.numpy())
np.savez(d + '/stored.npz', **meta, **probs)
np.savez_compressed(d + '/deflated.npz', **meta, **probs)
np.savez_compressed(d + '/logits.npz', **meta, **{m: z.numpy() for m, z in logits.items()})
np.savez(d + '/softmax64.npz', **meta, **{m: z.double().softmax(1).numpy() for m, z in logits.items()})
y = labels.numpy()
gaps = probs['audio'][np.arange(N), y].astype(np.float64) - probs['visual'][np.arange(N), y].astype(np.float64)
json.dump(dict(labels=y.tolist(), ids=ids.tolist(), corrupted=corrupted.numpy().astype(int).tolist(), K=K,
               audio=probs['audio'].ravel().tolist(), visual=probs['visual'].ravel().tolist(), gaps=gaps.tolist()), sys.stdout)
`;

describe.skipIf(torchMissing !== null)('a predictions file written by PyTorch', () => {
  const dir = tempDir('mmgap-preds-');
  let ref: { labels: number[]; ids: string[]; corrupted: number[]; K: number; audio: number[]; visual: number[]; gaps: number[] };
  beforeAll(() => {
    ref = JSON.parse(execFileSync(PYTHON, ['-c', WRITER, dir], { encoding: 'utf8' })) as typeof ref;
  });

  it('gives the gaps (1e-6), GMM (1e-9) and posteriors (1e-6) of the run diagnosis on the same probabilities, stored or deflated', async () => {
    // The run's own diagnosis, on float32 probabilities as a model's prediction pass hands them over.
    const own = diagnose({
      ids: ref.ids, labels: Int32Array.from(ref.labels), corrupted: Uint8Array.from(ref.corrupted), numClasses: ref.K,
      unimodal: { audio: Float32Array.from(ref.audio), visual: Float32Array.from(ref.visual) },
    }, ['audio', 'visual'], 0);
    expect(own.gmm.imbalanced).toBe(true); // posteriors are not all 0: their comparison means something
    for (const name of ['stored.npz', 'deflated.npz']) {
      const { gaps, json } = await diagnoseFile(join(dir, name));
      expect(json.scores).toEqual({ audio: 'probs', visual: 'probs' });
      expect(gaps.map((g) => g.id)).toEqual(ref.ids);
      gaps.forEach((g, i) => {
        expect(Math.abs(g.gap - ref.gaps[i])).toBeLessThanOrEqual(1e-6);
        expect(Math.abs(g.gap - own.rows[i].gap)).toBeLessThanOrEqual(1e-6);
        expect(Math.abs(g.gamma - own.gamma[i])).toBeLessThanOrEqual(1e-6);
        expect(g.dominant).toBe(own.rows[i].dominant);
        expect(g.corrupted).toBe(String(ref.corrupted[i]));
      });
      expectSameGmm(json.gmm, own.gmm, 1e-9);
      expect(json.gmm.auroc).toBeGreaterThan(0.7); // the corrupted audio quarter is what the GMM finds
      expect(json.imbalancedIds).toEqual(own.rows.filter((r) => r.gamma > 0.5).sort((a, b) => b.gamma - a.gamma).map((r) => r.id));
    }
  });

  it('--diagnose-gaps raw: the GMM on the gaps as they are, as the run diagnosis with that setting', async () => {
    const own = diagnose({
      ids: ref.ids, labels: Int32Array.from(ref.labels), corrupted: Uint8Array.from(ref.corrupted), numClasses: ref.K,
      unimodal: { audio: Float32Array.from(ref.audio), visual: Float32Array.from(ref.visual) },
    }, ['audio', 'visual'], 0, { gaps: 'raw' });
    const { gaps, json } = await diagnoseFile(join(dir, 'stored.npz'), '--diagnose-gaps', 'raw');
    expect(json.gmm.perClass).toBe(false);
    expectSameGmm(json.gmm, own.gmm, 1e-9);
    gaps.forEach((g, i) => expect(Math.abs(g.gamma - own.gamma[i])).toBeLessThanOrEqual(1e-6));
    expect((await diagnoseFile(join(dir, 'stored.npz'))).json.gmm.perClass).toBe(true);
  });

  it('reads logits as their softmax (float64 reference: torch), detected or declared', async () => {
    const probs = await diagnoseFile(join(dir, 'softmax64.npz'));
    expect(probs.json.scores).toEqual({ audio: 'probs', visual: 'probs' });
    for (const flags of [[], ['--scores', 'logits']]) {
      const logits = await diagnoseFile(join(dir, 'logits.npz'), ...flags);
      expect(logits.json.scores).toEqual({ audio: 'logits', visual: 'logits' });
      logits.gaps.forEach((g, i) => {
        expect(Math.abs(g.gap - probs.gaps[i].gap)).toBeLessThanOrEqual(1e-6);
        expect(Math.abs(g.gamma - probs.gaps[i].gamma)).toBeLessThanOrEqual(1e-6);
      });
      expectSameGmm(logits.json.gmm, probs.json.gmm, 1e-9);
    }
  });

  it('reads the same content as CSV', async () => {
    const k = ref.K;
    const header = ['id', 'label', 'corrupted', ...['audio', 'visual'].flatMap((m) => Array.from({ length: k }, (_, c) => `${m}:${c}`))];
    const rows = ref.ids.map((id, i) => [id, ref.labels[i], ref.corrupted[i], ...ref.audio.slice(i * k, (i + 1) * k), ...ref.visual.slice(i * k, (i + 1) * k)].join(','));
    const csv = join(dir, 'preds.csv');
    writeFileSync(csv, [header.join(','), ...rows].join('\n') + '\n');
    const fromCsv = await diagnoseFile(csv);
    const fromNpz = await diagnoseFile(join(dir, 'stored.npz'));
    expect(fromCsv.gaps).toEqual(fromNpz.gaps);
    expectSameGmm(fromCsv.json.gmm, fromNpz.json.gmm, 1e-12);
  });
});

describe('bad predictions: one line naming the file, the sample and the fix; exit 2; nothing written', () => {
  const dir = tempDir('mmgap-preds-bad-');
  const N = 8;
  const K = 3;
  const labels = Int32Array.from({ length: N }, (_, i) => i % K);
  /** Probability rows: the true class gets `p`, the others share the rest. */
  const probs = (p: (i: number) => number): Float32Array =>
    Float32Array.from({ length: N * K }, (_, j) => (j % K === labels[Math.floor(j / K)] ? p(Math.floor(j / K)) : (1 - p(Math.floor(j / K))) / (K - 1)));
  const audio = probs((i) => 0.5 + 0.05 * i);
  const visual = probs(() => 0.4);
  const write = (name: string, members: Parameters<typeof npzBytes>[0]): string => {
    const file = join(dir, name);
    writeFileSync(file, npzBytes(members));
    return file;
  };

  async function fails(file: string, ...flags: string[]): Promise<string> {
    const out = join(dir, `out-${Math.random().toString(36).slice(2)}`);
    const r = await cli(['diagnose', '--predictions', file, '--out', out, ...flags]);
    expect(r.code, r.err).toBe(2);
    expect(r.err.trimEnd().split('\n')).toHaveLength(1);
    expect(r.err).not.toMatch(/\n\s+at /);
    expect(r.err.startsWith(`mmgap: ${file}`)).toBe(true);
    expect(existsSync(out)).toBe(false);
    return r.err;
  }

  it('rows that do not sum to 1 under --scores probs', async () => {
    const doubled = Float32Array.from(audio, (p) => 2 * p);
    const file = write('doubled.npz', { labels: { data: labels, shape: [N] }, audio: { data: doubled, shape: [N, K] }, visual: { data: visual, shape: [N, K] } });
    expect(await fails(file, '--scores', 'probs')).toMatch(/row 0: modality "audio": scores sum to 2\.00000, not 1 \(tolerance 0\.001\); these are not probabilities: pass --scores logits \(or auto\), or save softmax outputs/);
  });

  it('NaN, named by sample id and row', async () => {
    const nan = Float32Array.from(visual);
    nan[5 * K + 1] = NaN;
    const ids = { data: Int32Array.from({ length: N }, (_, i) => 100 + i), shape: [N] };
    const file = write('nan.npz', { labels: { data: labels, shape: [N] }, ids, audio: { data: audio, shape: [N, K] }, visual: { data: nan, shape: [N, K] } });
    expect(await fails(file)).toMatch(/sample "105" \(row 5\): modality "visual" has score NaN for class 1; every score must be finite/);
    const csv = join(dir, 'nan.csv');
    writeFileSync(csv, 'id,label,a:0,a:1,v:0,v:1\nx,0,0.9,0.1,0.5,0.5\ny,1,0.2,nan,0.5,0.5\n');
    expect(await fails(csv)).toMatch(/line 3 \(sample "y"\): modality "a" has score NaN for class 1/);
  });

  it('shapes that differ between modalities', async () => {
    const file = write('shape.npz', { labels: { data: labels, shape: [N] }, audio: { data: audio, shape: [N, K] }, visual: { data: visual.subarray(0, N * (K - 1)), shape: [N, K - 1] } });
    expect(await fails(file)).toMatch(/modality "visual" has shape \[8, 2\] but "audio" has \[8, 3\] and there are 8 labels; every modality needs \[N, K\]/);
  });

  it('labels out of range', async () => {
    const bad = Int32Array.from(labels);
    bad[4] = K;
    const file = write('labels.npz', { labels: { data: bad, shape: [N] }, audio: { data: audio, shape: [N, K] }, visual: { data: visual, shape: [N, K] } });
    expect(await fails(file)).toMatch(/row 4: label 3 is not a class index in \[0, 3\) \(K = 3 score columns\); labels must be 0-based integers/);
  });

  it('fewer than 2 modalities', async () => {
    const file = write('one.npz', { labels: { data: labels, shape: [N] }, audio: { data: audio, shape: [N, K] } });
    expect(await fails(file)).toMatch(/has 1 modality array \("audio"\); the gap compares 2 or more: save one \[N, K\] array of scores per modality/);
  });

  it('unreadable or unknown files', async () => {
    expect(await fails(join(dir, 'missing.npz'))).toMatch(/cannot be read \(ENOENT\); check the --predictions path/);
    const txt = join(dir, 'preds.txt');
    writeFileSync(txt, 'hello\n');
    expect(await fails(txt)).toMatch(/is neither an \.npz archive .* nor a \.csv file; see `mmgap diagnose --help`/);
    const noLabels = write('nolabels.npz', { audio: { data: audio, shape: [N, K] }, visual: { data: visual, shape: [N, K] } });
    expect(await fails(noLabels)).toMatch(/has no "labels" array \(it has: audio, visual\); save the true classes as np\.savez\(\.\.\., labels=y\)/);
  });

  it('a degenerate GMM: every gap equal', async () => {
    const file = write('same.npz', { labels: { data: labels, shape: [N] }, audio: { data: audio, shape: [N, K] }, visual: { data: audio, shape: [N, K] } });
    expect(await fails(file)).toMatch(/every sample has the same gap \(0\), so there is no distribution for the GMM to fit; check that each modality array holds that modality's own outputs/);
  });
});

describe('the two forms of mmgap diagnose', () => {
  it('takes exactly one of RUN_DIR and --predictions, each with its own flags', async () => {
    const cases: [string[], RegExp][] = [
      [['diagnose'], /nothing to diagnose: give a run directory \(mmgap diagnose RUN_DIR\) or a predictions file/],
      [['diagnose', 'runs/a', '--predictions', 'p.npz', '--out', 'd'], /give a run directory or --predictions, not both/],
      [['diagnose', '--predictions', 'p.npz'], /--predictions needs --out DIR/],
      [['diagnose', '--predictions', 'p.npz', '--out', 'd', '--split', 'test'], /--split applies only to a run directory/],
      [['diagnose', 'runs/a', '--gmm-on', 'absolute'], /--gmm-on applies only to --predictions/],
      [['diagnose', 'runs/a', '--out', 'd', '--seed', '3'], /--out, --seed apply only to --predictions; a run is diagnosed with its own settings/],
      [['diagnose', '--predictions', 'p.npz', '--out', 'd', '--scores', 'softmax'], /setting scores must be one of auto, probs, logits, got "softmax"; change --scores/],
    ];
    for (const [argv, message] of cases) {
      const r = await cli(argv);
      expect(r.code, r.err).toBe(2);
      expect(r.err).toMatch(message);
      expect(r.err.trimEnd().split('\n')).toHaveLength(1);
    }
  });
});
