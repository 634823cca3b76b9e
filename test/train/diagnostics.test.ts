/**
 * The run diagnostics' subgroup rule (docs/METHOD.md §3, "Diagnostics"): by default the GMM is
 * fitted on the gaps standardised within each true class (RUN_SETTINGS.diagnoseGaps 'per-class'),
 * checked against scikit-learn's GaussianMixture on the same standardised gaps; 'raw' keeps the
 * rule before it. The data: classes whose gaps sit at different levels (two classes at +0.3, three
 * at 0), and a corrupted 15 % of every class shifted by +0.15: on the raw gaps the class levels
 * hide the corrupted samples, within each class they stand out.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SeededRandom, auroc, imbalancePosterior, shareAbove } from '../../src/core/index.js';
import { DEFAULT_CONFIG } from '../../src/train/config.js';
import { diagnose, type GapInput } from '../../src/train/diagnostics.js';
import { runPython, tempDir } from '../helpers/python.js';

const K = 5;
const N = 2000;

/** Predictions whose gap d = p_audio[y] - p_visual[y] is `gap(i, label)`; the other classes share the rest. */
function predictions(gap: (i: number, label: number) => number, corrupted: Uint8Array): GapInput {
  const labels = Int32Array.from({ length: N }, (_, i) => i % K);
  const row = (p: number, y: number): number[] => Array.from({ length: K }, (_, c) => (c === y ? p : (1 - p) / (K - 1)));
  const audio = new Float64Array(N * K), visual = new Float64Array(N * K);
  labels.forEach((y, i) => {
    audio.set(row(0.35 + gap(i, y), y), i * K);
    visual.set(row(0.35, y), i * K);
  });
  return { ids: Array.from({ length: N }, (_, i) => `s${i}`), labels, corrupted, numClasses: K, unimodal: { audio, visual } };
}

/** scikit-learn's soft decision on per-class standardised gaps: w2 x the posterior of the component farther from 0. */
const SKLEARN = `
import json, numpy as np
from sklearn.mixture import GaussianMixture
a = json.load(open(sys.argv[1]))
d, y = np.array(a['gaps']), np.array(a['labels'])
z = d.copy()
for c in np.unique(y):
    s = y == c
    z[s] = (d[s] - d[s].mean()) / d[s].std()
x = z.reshape(-1, 1)
fit = lambda k: GaussianMixture(k, n_init=20, tol=1e-8, max_iter=2000, reg_covar=1e-6, random_state=0).fit(x)
g2, g1 = fit(2), fit(1)
w2 = 1 / (1 + np.exp((g2.bic(x) - g1.bic(x)) / 2))
order = np.argsort(g2.means_.ravel())
u = int(np.argmax(np.abs(g2.means_.ravel())))
print(json.dumps({'gamma': (w2 * g2.predict_proba(x)[:, u]).tolist(), 'means': g2.means_.ravel()[order].tolist(),
                  'variances': g2.covariances_.ravel()[order].tolist(), 'weights': g2.weights_[order].tolist(), 'bic1': g1.bic(x)}))
`;

describe('diagnose: the GMM on per-class standardised gaps by default', () => {
  const rng = new SeededRandom(3);
  const corrupted = Uint8Array.from({ length: N }, () => (rng.uniform() < 0.15 ? 1 : 0));
  const level = (y: number): number => (y < 2 ? 0.3 : 0);
  const noise = Float64Array.from({ length: N }, () => 0.03 * rng.normal());
  const data = predictions((i, y) => level(y) + 0.15 * (corrupted[i] as number) + (noise[i] as number), corrupted);
  const flags = Array.from(corrupted, (c) => c === 1);

  it('finds the corrupted samples the class levels hide on the raw gaps (scikit-learn on the same standardised gaps)', () => {
    const byDefault = diagnose(data, ['audio', 'visual'], 0);
    expect(byDefault.gmm.perClass).toBe(true);
    // The run setting's default is the one diagnose applies.
    expect(DEFAULT_CONFIG.diagnoseGaps).toBe('per-class');
    expect(Array.from(diagnose(data, ['audio', 'visual'], 0, { gaps: DEFAULT_CONFIG.diagnoseGaps }).gamma)).toEqual(Array.from(byDefault.gamma));
    const gaps = Float64Array.from(byDefault.rows, (r) => r.gap);
    const input = join(tempDir('mmgap-diag-'), 'gaps.json');
    writeFileSync(input, JSON.stringify({ gaps: Array.from(gaps), labels: Array.from(data.labels) }));
    const out = JSON.parse(runPython(SKLEARN, [input])) as { gamma: number[]; means: number[]; variances: number[]; weights: number[]; bic1: number };
    // The 1-component fit is closed form: its BIC checks the standardisation itself (1e-9).
    expect(Math.abs(byDefault.gmm.bic1 - out.bic1)).toBeLessThan(1e-9 * Math.abs(out.bic1));
    // EM stops at tol 1e-3 (the diagnostics' setting), scikit-learn's reference is converged: the
    // components agree to 1e-2, gamma to 1e-3 on average (0.05 at worst, on the boundary).
    const fit = byDefault.gmm;
    for (let j = 0; j < 2; j++) {
      expect(Math.abs((fit.means[j] as number) - (out.means[j] as number))).toBeLessThan(1e-2);
      expect(Math.abs((fit.variances[j] as number) - (out.variances[j] as number))).toBeLessThan(1e-2);
      expect(Math.abs((fit.weights[j] as number) - (out.weights[j] as number))).toBeLessThan(1e-2);
    }
    const diff = byDefault.gamma.map((g, i) => Math.abs(g - (out.gamma[i] as number)));
    expect(diff.reduce((a, b) => a + b, 0) / N).toBeLessThan(1e-3);
    expect(Math.max(...diff)).toBeLessThan(0.05);
    expect(byDefault.gmm.auroc).toBeGreaterThan(0.99);
    expect(Math.abs(byDefault.gmm.shareImbalanced - 0.15)).toBeLessThan(0.03);
    // The rule before it ('raw'): the two high classes pass for the subgroup.
    const raw = diagnose(data, ['audio', 'visual'], 0, { gaps: 'raw' });
    expect(raw.gmm.perClass).toBe(false);
    expect(Array.from(raw.gamma)).toEqual(Array.from(imbalancePosterior(gaps, { seed: 0 }).gamma));
    expect(raw.gmm.auroc).toBeLessThan(0.8);
    expect(auroc(byDefault.gamma, flags)).toBe(byDefault.gmm.auroc);
  });

  it('declares no subgroup on balanced data whose classes sit at different levels (raw: the high classes)', () => {
    const balanced = predictions((i, y) => level(y) + (noise[i] as number), new Uint8Array(N));
    expect(shareAbove(diagnose(balanced, ['audio', 'visual'], 0).gamma, 0.5)).toBe(0);
    expect(diagnose(balanced, ['audio', 'visual'], 0, { gaps: 'raw' }).gmm.shareImbalanced).toBeGreaterThan(0.3);
  });
});
