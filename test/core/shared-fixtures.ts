/** Loads the scikit-learn reference fixtures of ../shared/fixtures/gmm (see its README.md). */

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sharedDir } from '../helpers/shared.js';

/** One fixture file: a 1-D sample and scikit-learn 1.2.1's 2-component fit of it. */
export interface GmmFixture {
  name: string;
  n: number;
  x: number[];
  truth_component: number[] | null;
  sklearn: {
    version: string;
    settings: string;
    means: number[];
    variances: number[];
    weights: number[];
    mean_loglik_per_sample: number;
    bic_1: number;
    bic_2: number;
    converged: boolean;
    posteriors_sorted_by_mean: number[][];
  };
}


const fixtureDir = join(sharedDir, 'fixtures', 'gmm');

export function loadGmmFixtures(): GmmFixture[] {
  return readdirSync(fixtureDir)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => JSON.parse(readFileSync(join(fixtureDir, file), 'utf8')) as GmmFixture);
}

/** The numeric keyword arguments of a settings string such as "GaussianMixture(n_components=2, tol=1e-8, ...)". */
export function parseSettings(settings: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [, key, value] of settings.matchAll(/(\w+)=([^,)]+)/g)) {
    const number = Number(value);
    if (Number.isFinite(number)) out[key] = number;
  }
  return out;
}
