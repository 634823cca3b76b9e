/**
 * Band-limited rational resampling, the polyphase method of scipy.signal.resample_poly with its
 * default filter: a Kaiser-windowed (beta 5) sinc low-pass of 2 * 10 * max(up, down) + 1 taps,
 * cutoff 1 / max(up, down) of Nyquist, unit DC gain times `up`, zero padding at the edges.
 * Output length is ceil(n * up / down), aligned as scipy aligns it (sample 0 maps to sample 0).
 */

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** Modified Bessel function of the first kind, order 0 (power series; converges fast for the betas used). */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const q = (x * x) / 4;
  for (let k = 1; k < 200; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

const filters = new Map<string, Float64Array>();

/** The FIR filter of scipy's resample_poly(x, up, down) (firwin with a symmetric Kaiser window), times `up`. */
function polyphaseFilter(up: number, down: number): Float64Array {
  const key = `${up}/${down}`;
  const cached = filters.get(key);
  if (cached) return cached;
  const maxRate = Math.max(up, down);
  const cutoff = 1 / maxRate;
  const halfLen = 10 * maxRate;
  const n = 2 * halfLen + 1;
  const beta = 5;
  const i0Beta = besselI0(beta);
  const h = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const m = i - halfLen;
    const arg = Math.PI * cutoff * m;
    const sinc = m === 0 ? 1 : Math.sin(arg) / arg;
    const r = (2 * i) / (n - 1) - 1;
    const w = besselI0(beta * Math.sqrt(Math.max(0, 1 - r * r))) / i0Beta;
    h[i] = cutoff * sinc * w;
    sum += h[i];
  }
  for (let i = 0; i < n; i++) h[i] *= up / sum;
  filters.set(key, h);
  return h;
}

/** Resamples by the rational factor up/down (reduced by their gcd first), like scipy.signal.resample_poly. */
export function resamplePoly(x: ArrayLike<number>, up: number, down: number): Float32Array {
  if (!Number.isInteger(up) || !Number.isInteger(down) || up < 1 || down < 1) {
    throw new Error(`resamplePoly: up and down must be positive integers (got ${up}, ${down})`);
  }
  const g = gcd(up, down);
  up /= g;
  down /= g;
  const nIn = x.length;
  if (up === 1 && down === 1) return Float32Array.from(x);
  const nOut = Math.ceil((nIn * up) / down);
  const h = polyphaseFilter(up, down);
  const halfLen = (h.length - 1) / 2;
  const out = new Float32Array(nOut);
  // y[m] = sum_i x[i] * h[m * down + halfLen - i * up], over the taps that fall inside h.
  for (let m = 0; m < nOut; m++) {
    const t = m * down + halfLen;
    const iHi = Math.min(nIn - 1, Math.floor(t / up));
    const iLo = Math.max(0, Math.ceil((t - 2 * halfLen) / up));
    let acc = 0;
    for (let i = iLo, k = t - iLo * up; i <= iHi; i++, k -= up) acc += x[i] * h[k];
    out[m] = acc;
  }
  return out;
}

/** Resamples from one integer rate to another (band-limited, see resamplePoly). */
export function resample(x: Float32Array, fromRate: number, toRate: number): Float32Array {
  if (fromRate === toRate) return x;
  return resamplePoly(x, toRate, fromRate);
}
