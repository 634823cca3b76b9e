/**
 * k-means on row-major data [n x d], as scikit-learn's KMeans (algorithm 'lloyd'): greedy
 * k-means++ seeding (2 + floor(ln k) candidates per centre), Lloyd iterations until no label
 * changes or the squared centre shift is at most tol times the mean per-dimension variance (then
 * a last assignment to the moved centres), the best of `runs` seeded runs by inertia. An empty
 * cluster takes the row farthest from its centre (scikit-learn relocates similarly). Used by
 * Diagnosing & Re-learning (src/methods/diagnosing-relearning.ts); the 1-D k-means that starts
 * the GMM is kmeans1d.ts, which sorts once and runs each Lloyd iteration by binary search.
 *
 * scikit-learn's random stream cannot be matched bit for bit; from the same initial centres
 * (`init`) the iterations are the same (test/core/kmeans.test.ts).
 */
import { SeededRandom } from './prng.js';

export interface KMeansResult {
  /** Cluster of each row. */
  labels: Int32Array;
  /** Centres [k x d], row-major. */
  centres: Float64Array;
  /** Sum of squared distances of the rows to their centres. */
  inertia: number;
  /** Centre updates of the best run. */
  iterations: number;
}

export interface KMeansOptions {
  /** Seed of the k-means++ draws (default 0). */
  seed?: number;
  /** Seeded runs; the lowest inertia wins (default 10). */
  runs?: number;
  maxIter?: number;
  /** Relative tolerance on the squared centre shift (default 1e-4, as scikit-learn). */
  tol?: number;
  /** Initial centres [k x d] instead of k-means++ (as scikit-learn's init=array): one run from them. */
  init?: ArrayLike<number>;
}

function sqDist(x: Float64Array, i: number, c: Float64Array, k: number, d: number): number {
  let s = 0;
  const a = i * d, b = k * d;
  for (let j = 0; j < d; j++) {
    const t = (x[a + j] as number) - (c[b + j] as number);
    s += t * t;
  }
  return s;
}

/** Sets each row's nearest centre (the first on ties) and its squared distance; returns how many labels changed. */
function assign(x: Float64Array, n: number, d: number, centres: Float64Array, k: number, labels: Int32Array, dist: Float64Array): number {
  let changed = 0;
  for (let i = 0; i < n; i++) {
    let best = 0, bd = Infinity;
    for (let c = 0; c < k; c++) {
      const v = sqDist(x, i, centres, c, d);
      if (v < bd) { bd = v; best = c; }
    }
    if (labels[i] !== best) { changed++; labels[i] = best; }
    dist[i] = bd;
  }
  return changed;
}

/** scikit-learn's greedy k-means++: each new centre is the best of 2 + ln k candidates drawn with probability ~ D(x)^2. */
function kmeansPlusPlus(x: Float64Array, n: number, d: number, k: number, rng: SeededRandom): Float64Array {
  const centres = new Float64Array(k * d);
  const trials = 2 + Math.floor(Math.log(k));
  const first = rng.uniformInt(n);
  centres.set(x.subarray(first * d, first * d + d), 0);
  const closest = new Float64Array(n);
  for (let i = 0; i < n; i++) closest[i] = sqDist(x, i, centres, 0, d);
  const cand = new Float64Array(d);
  const candDist = new Float64Array(n);
  const bestDist = new Float64Array(n);
  for (let c = 1; c < k; c++) {
    let pot = 0;
    for (let i = 0; i < n; i++) pot += closest[i] as number;
    let bestPot = Infinity, best = -1;
    for (let t = 0; t < trials; t++) {
      // Draw a row with probability closest[i] / pot (uniformly if every row sits on a centre).
      let pick = n - 1;
      if (pot > 0) {
        let r = rng.uniform() * pot;
        for (let i = 0; i < n; i++) { r -= closest[i] as number; if (r < 0) { pick = i; break; } }
      } else {
        pick = rng.uniformInt(n);
      }
      cand.set(x.subarray(pick * d, pick * d + d));
      let p = 0;
      for (let i = 0; i < n; i++) {
        const v = Math.min(closest[i] as number, sqDist(x, i, cand, 0, d));
        candDist[i] = v;
        p += v;
      }
      if (p < bestPot) { bestPot = p; best = pick; bestDist.set(candDist); }
    }
    centres.set(x.subarray(best * d, best * d + d), c * d);
    closest.set(bestDist);
  }
  return centres;
}

/** One k-means run from `centres` (updated in place): Lloyd iterations until no label changes or the centres move less than `tolAbs`. */
function lloyd(x: Float64Array, n: number, d: number, k: number, centres: Float64Array, maxIter: number, tolAbs: number): KMeansResult {
  const labels = new Int32Array(n).fill(-1);
  const dist = new Float64Array(n);
  const sums = new Float64Array(k * d);
  const counts = new Int32Array(k);
  let iterations = 0;
  for (; iterations < maxIter; iterations++) {
    if (assign(x, n, d, centres, k, labels, dist) === 0) break;
    sums.fill(0);
    counts.fill(0);
    for (let i = 0; i < n; i++) {
      const c = labels[i] as number;
      counts[c] = (counts[c] as number) + 1;
      for (let j = 0; j < d; j++) sums[c * d + j] = (sums[c * d + j] as number) + (x[i * d + j] as number);
    }
    // Empty clusters take the rows farthest from their centres, one each (never a cluster's last row).
    for (let c = 0; c < k; c++) {
      if (counts[c] !== 0) continue;
      let far = -1, fd = -1;
      for (let i = 0; i < n; i++) {
        if ((counts[labels[i] as number] as number) > 1 && (dist[i] as number) > fd) { fd = dist[i] as number; far = i; }
      }
      dist[far] = 0;
      const from = labels[far] as number;
      counts[from] = (counts[from] as number) - 1;
      for (let j = 0; j < d; j++) sums[from * d + j] = (sums[from * d + j] as number) - (x[far * d + j] as number);
      labels[far] = c;
      counts[c] = 1;
      for (let j = 0; j < d; j++) sums[c * d + j] = x[far * d + j] as number;
    }
    let shift = 0;
    for (let c = 0; c < k; c++) {
      const cnt = counts[c] as number;
      for (let j = 0; j < d; j++) {
        const v = (sums[c * d + j] as number) / cnt;
        const t = v - (centres[c * d + j] as number);
        shift += t * t;
        centres[c * d + j] = v;
      }
    }
    if (shift <= tolAbs) {
      // Final assignment to the moved centres (as scikit-learn's last E-step).
      assign(x, n, d, centres, k, labels, dist);
      iterations++;
      break;
    }
  }
  let inertia = 0;
  for (let i = 0; i < n; i++) inertia += dist[i] as number;
  return { labels, centres, inertia, iterations };
}

/** k-means with k clusters on row-major data [n x d]: the best of `runs` seeded k-means++ / Lloyd runs, or one run from `init`. */
export function kmeans(data: ArrayLike<number>, n: number, d: number, k: number, opts: KMeansOptions = {}): KMeansResult {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`k-means: k must be a positive integer, got ${k}`);
  if (n < k) throw new RangeError(`k-means: ${n} rows cannot make ${k} clusters`);
  if (data.length !== n * d) throw new RangeError(`k-means: ${data.length} values are not ${n} x ${d}`);
  const { seed = 0, runs = 10, maxIter = 300, tol = 1e-4, init } = opts;
  if (init && init.length !== k * d) throw new RangeError(`k-means: init has ${init.length} values, not ${k} centres x ${d}`);
  const x = Float64Array.from(data);
  // scikit-learn's tolerance is relative to the data: tol times the mean per-dimension variance.
  let meanVar = 0;
  for (let j = 0; j < d; j++) {
    let s = 0, s2 = 0;
    for (let i = 0; i < n; i++) { const v = x[i * d + j] as number; s += v; s2 += v * v; }
    const m = s / n;
    meanVar += Math.max(s2 / n - m * m, 0);
  }
  const tolAbs = d > 0 ? (tol * meanVar) / d : 0;
  if (init) return lloyd(x, n, d, k, Float64Array.from(init), maxIter, tolAbs);
  const rng = new SeededRandom(seed);
  let best: KMeansResult | null = null;
  for (let r = 0; r < runs; r++) {
    const res = lloyd(x, n, d, k, kmeansPlusPlus(x, n, d, k, rng), maxIter, tolAbs);
    if (!best || res.inertia < best.inertia) best = res;
  }
  return best as KMeansResult;
}
