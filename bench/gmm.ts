/**
 * GMM fit benchmark: mmgap's GaussianMixture against scikit-learn's on the same 1,000,000
 * signed gaps (drawn from a seeded 2-component mixture), same nInit, maxIter, tol, regCovar.
 *
 *   npm run bench:gmm -- [options] (--help lists them)
 *
 * Each side reports the median wall time of `repeats` full fits; Python times only the fit.
 * mmgap skips initialisations equal to an earlier one (mmgap_em_runs counts the EM runs done);
 * --n-init 1 compares single runs.
 * The last line of stdout is one JSON object (mmgap_ms, sklearn_ms, speedup, loglik_diff, ...).
 * Python: $MMGAP_SKLEARN_PYTHON, default /usr/bin/python3 (Debian's, with scikit-learn 1.2.1).
 */

import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GaussianMixture, SeededRandom } from '../src/core/index.js';
import { median } from './stats.js';
import { lastJsonLine } from './child.js';
import { benchArgs } from './args.js';

const flags = benchArgs('Usage: npm run bench:gmm -- [options]', {
  json: { kind: 'flag', help: 'only the JSON line on stdout (human text on stderr)' },
  quick: { kind: 'flag', help: '100,000 points instead of 1,000,000' },
  nInit: { kind: 'int', default: 5, help: 'initialisations per fit (1 compares single EM runs)' },
  repeats: { kind: 'int', default: 3, help: 'full fits per side; each reports the median' },
});

const settings = {
  n: flags.quick ? 100_000 : 1_000_000,
  nComponents: 2,
  nInit: flags.nInit,
  maxIter: 100,
  tol: 1e-3,
  regCovar: 1e-6,
  seed: 0,
};
const repeats = flags.repeats;
const dataSeed = 20251126;

/** Human-readable progress: stderr under --json, so that stdout holds only the JSON line. */
const say = (line: string): void => {
  (flags.json ? process.stderr : process.stdout).write(`${line}\n`);
};

/** Gaps from a 2-component mixture: 75 % balanced N(0.02, 0.06^2), 25 % imbalanced N(0.55, 0.18^2). */
function drawGaps(n: number, seed: number): Float64Array {
  const rng = new SeededRandom(seed);
  const gaps = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    gaps[i] = rng.uniform() < 0.75 ? 0.02 + 0.06 * rng.normal() : 0.55 + 0.18 * rng.normal();
  }
  return gaps;
}

/** The repository root: the nearest ancestor of this script holding package.json (works from src or dist). */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the repository root (package.json) above bench/gmm');
    dir = parent;
  }
  return dir;
}

interface SklearnResult {
  sklearn_version: string;
  n: number;
  fit_ms: number;
  mean_loglik: number;
  n_iter: number;
  converged: boolean;
  means: number[];
  variances: number[];
  weights: number[];
}

function runSklearn(dataPath: string): SklearnResult {
  const python = process.env.MMGAP_SKLEARN_PYTHON ?? '/usr/bin/python3';
  const script = join(repoRoot(), 'bench', 'gmm_sklearn.py');
  const args = [
    script,
    '--data', dataPath,
    '--n-components', String(settings.nComponents),
    '--n-init', String(settings.nInit),
    '--max-iter', String(settings.maxIter),
    '--tol', String(settings.tol),
    '--reg-covar', String(settings.regCovar),
    '--seed', String(settings.seed),
    '--repeats', String(repeats),
  ];
  return lastJsonLine<SklearnResult>(python, args);
}

function main(): void {
  const gaps = drawGaps(settings.n, dataSeed);
  const dir = mkdtempSync(join(tmpdir(), 'mmgap-bench-gmm-'));
  const dataPath = join(dir, 'gaps.f64');
  try {
    // Typed arrays use the platform's byte order, little-endian on every machine Node supports here.
    writeFileSync(dataPath, new Uint8Array(gaps.buffer, gaps.byteOffset, gaps.byteLength));
    say(`GMM fit benchmark: n=${settings.n}, k=2, nInit=${settings.nInit}, maxIter=${settings.maxIter}, ` +
      `tol=${settings.tol}, regCovar=${settings.regCovar}, repeats=${repeats}, load average ${loadavg()[0].toFixed(2)}`);

    const times: number[] = [];
    let model: GaussianMixture | undefined;
    for (let r = 0; r < repeats; r++) {
      const start = performance.now();
      model = new GaussianMixture(settings).fit(gaps);
      times.push(performance.now() - start);
    }
    const fitted = model as GaussianMixture;
    const mmgapMs = median(times);
    const mmgapLoglik = fitted.score(gaps);
    say(`mmgap:   ${mmgapMs.toFixed(1)} ms (runs ${times.map((t) => t.toFixed(0)).join(', ')}), ` +
      `mean loglik ${mmgapLoglik.toFixed(9)}, nIter ${fitted.nIter}, EM runs ${fitted.emRuns}, means ${fmt(fitted.means)}`);

    const sk = runSklearn(dataPath);
    say(`sklearn: ${sk.fit_ms.toFixed(1)} ms (scikit-learn ${sk.sklearn_version}), ` +
      `mean loglik ${sk.mean_loglik.toFixed(9)}, nIter ${sk.n_iter}, means ${fmt(sk.means)}`);

    const result = {
      bench: 'gmm-fit',
      n: settings.n,
      nComponents: settings.nComponents,
      nInit: settings.nInit,
      maxIter: settings.maxIter,
      tol: settings.tol,
      regCovar: settings.regCovar,
      repeats,
      mmgap_ms: round(mmgapMs, 1),
      sklearn_ms: round(sk.fit_ms, 1),
      speedup: round(sk.fit_ms / mmgapMs, 2),
      loglik_diff: mmgapLoglik - sk.mean_loglik,
      mmgap_loglik: mmgapLoglik,
      sklearn_loglik: sk.mean_loglik,
      mmgap_n_iter: fitted.nIter,
      mmgap_em_runs: fitted.emRuns,
      sklearn_n_iter: sk.n_iter,
      mmgap_means: Array.from(fitted.means),
      sklearn_means: sk.means,
      sklearn_version: sk.sklearn_version,
      node_version: process.version,
      load_average: round(loadavg()[0], 2),
    };
    say(`speedup ${result.speedup}x, loglik_diff ${result.loglik_diff.toExponential(2)}`);
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function fmt(values: ArrayLike<number>): string {
  return Array.from(values, (v) => v.toFixed(5)).join(' / ');
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

main();
