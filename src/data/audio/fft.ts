/**
 * FFTs on Float64Arrays: an iterative radix-2 transform for powers of two and Bluestein's
 * chirp-z algorithm (through a power-of-two FFT) for any other length.
 */

/** A complex FFT plan of fixed length n (forward transform, no scaling). */
export class ComplexFFT {
  readonly n: number;
  private readonly pow2: Radix2 | null;
  private readonly bluestein: Bluestein | null;

  constructor(n: number) {
    if (!Number.isInteger(n) || n < 1) throw new Error(`FFT length must be a positive integer (got ${n})`);
    this.n = n;
    const isPow2 = (n & (n - 1)) === 0;
    this.pow2 = isPow2 ? new Radix2(n) : null;
    this.bluestein = isPow2 ? null : new Bluestein(n);
  }

  /** In-place forward transform of (re, im). */
  forward(re: Float64Array, im: Float64Array): void {
    if (this.pow2) this.pow2.transform(re, im);
    else this.bluestein!.transform(re, im);
  }
}

class Radix2 {
  private readonly n: number;
  private readonly cos: Float64Array;
  private readonly sin: Float64Array;
  private readonly rev: Uint32Array;

  constructor(n: number) {
    this.n = n;
    this.cos = new Float64Array(n / 2);
    this.sin = new Float64Array(n / 2);
    for (let k = 0; k < n / 2; k++) {
      this.cos[k] = Math.cos((2 * Math.PI * k) / n);
      this.sin[k] = -Math.sin((2 * Math.PI * k) / n);
    }
    this.rev = new Uint32Array(n);
    const bits = Math.round(Math.log2(n));
    for (let i = 0; i < n; i++) {
      let r = 0;
      for (let b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
      this.rev[i] = r;
    }
  }

  transform(re: Float64Array, im: Float64Array): void {
    const n = this.n;
    for (let i = 0; i < n; i++) {
      const j = this.rev[i];
      if (j > i) {
        let t = re[i];
        re[i] = re[j];
        re[j] = t;
        t = im[i];
        im[i] = im[j];
        im[j] = t;
      }
    }
    for (let size = 2; size <= n; size <<= 1) {
      const half = size >> 1;
      const step = n / size;
      for (let start = 0; start < n; start += size) {
        for (let k = 0, tw = 0; k < half; k++, tw += step) {
          const a = start + k;
          const b = a + half;
          const wr = this.cos[tw];
          const wi = this.sin[tw];
          const xr = re[b] * wr - im[b] * wi;
          const xi = re[b] * wi + im[b] * wr;
          re[b] = re[a] - xr;
          im[b] = im[a] - xi;
          re[a] += xr;
          im[a] += xi;
        }
      }
    }
  }
}

class Bluestein {
  private readonly n: number;
  private readonly m: number;
  private readonly inner: Radix2;
  private readonly chirpRe: Float64Array;
  private readonly chirpIm: Float64Array;
  private readonly kernelRe: Float64Array;
  private readonly kernelIm: Float64Array;
  private readonly bufRe: Float64Array;
  private readonly bufIm: Float64Array;

  constructor(n: number) {
    this.n = n;
    let m = 1;
    while (m < 2 * n - 1) m <<= 1;
    this.m = m;
    this.inner = new Radix2(m);
    this.chirpRe = new Float64Array(n);
    this.chirpIm = new Float64Array(n);
    for (let k = 0; k < n; k++) {
      // exp(-i pi k^2 / n), with k^2 reduced mod 2n to keep the angle accurate
      const angle = (Math.PI * ((k * k) % (2 * n))) / n;
      this.chirpRe[k] = Math.cos(angle);
      this.chirpIm[k] = -Math.sin(angle);
    }
    this.kernelRe = new Float64Array(m);
    this.kernelIm = new Float64Array(m);
    this.kernelRe[0] = this.chirpRe[0];
    this.kernelIm[0] = -this.chirpIm[0];
    for (let k = 1; k < n; k++) {
      this.kernelRe[k] = this.kernelRe[m - k] = this.chirpRe[k];
      this.kernelIm[k] = this.kernelIm[m - k] = -this.chirpIm[k];
    }
    this.inner.transform(this.kernelRe, this.kernelIm);
    this.bufRe = new Float64Array(m);
    this.bufIm = new Float64Array(m);
  }

  transform(re: Float64Array, im: Float64Array): void {
    const { n, m, bufRe, bufIm, chirpRe, chirpIm } = this;
    bufRe.fill(0);
    bufIm.fill(0);
    for (let k = 0; k < n; k++) {
      bufRe[k] = re[k] * chirpRe[k] - im[k] * chirpIm[k];
      bufIm[k] = re[k] * chirpIm[k] + im[k] * chirpRe[k];
    }
    this.inner.transform(bufRe, bufIm);
    for (let k = 0; k < m; k++) {
      const r = bufRe[k] * this.kernelRe[k] - bufIm[k] * this.kernelIm[k];
      const i = bufRe[k] * this.kernelIm[k] + bufIm[k] * this.kernelRe[k];
      // conjugate so that the forward transform computes the inverse
      bufRe[k] = r;
      bufIm[k] = -i;
    }
    this.inner.transform(bufRe, bufIm);
    for (let k = 0; k < n; k++) {
      const r = bufRe[k] / m;
      const i = -bufIm[k] / m;
      re[k] = r * chirpRe[k] - i * chirpIm[k];
      im[k] = r * chirpIm[k] + i * chirpRe[k];
    }
  }
}

/**
 * A real-input FFT of length n returning the n/2 + 1 non-negative-frequency bins.
 * Even n packs the input into an n/2-point complex FFT; odd n runs the full complex transform.
 */
export class RealFFT {
  readonly n: number;
  readonly bins: number;
  private readonly half: ComplexFFT | null;
  private readonly full: ComplexFFT | null;
  private readonly re: Float64Array;
  private readonly im: Float64Array;
  private readonly twCos: Float64Array;
  private readonly twSin: Float64Array;

  constructor(n: number) {
    this.n = n;
    this.bins = Math.floor(n / 2) + 1;
    const even = n % 2 === 0 && n >= 2;
    this.half = even ? new ComplexFFT(n / 2) : null;
    this.full = even ? null : new ComplexFFT(n);
    const len = even ? n / 2 : n;
    this.re = new Float64Array(len);
    this.im = new Float64Array(len);
    this.twCos = new Float64Array(even ? n / 2 : 0);
    this.twSin = new Float64Array(even ? n / 2 : 0);
    for (let k = 0; k < this.twCos.length; k++) {
      this.twCos[k] = Math.cos((2 * Math.PI * k) / n);
      this.twSin[k] = -Math.sin((2 * Math.PI * k) / n);
    }
  }

  /** Transforms `input` (length n) into outRe/outIm (length n/2 + 1). */
  forward(input: ArrayLike<number>, outRe: Float64Array, outIm: Float64Array): void {
    const { re, im } = this;
    if (this.full) {
      for (let i = 0; i < this.n; i++) {
        re[i] = input[i];
        im[i] = 0;
      }
      this.full.forward(re, im);
      for (let k = 0; k < this.bins; k++) {
        outRe[k] = re[k];
        outIm[k] = im[k];
      }
      return;
    }
    const h = this.n / 2;
    for (let i = 0; i < h; i++) {
      re[i] = input[2 * i];
      im[i] = input[2 * i + 1];
    }
    this.half!.forward(re, im);
    // Split the packed spectrum Z into the even (E) and odd (O) parts: X[k] = E[k] + W^k O[k].
    for (let k = 0; k <= h; k++) {
      const a = k % h;
      const b = (h - k) % h;
      const er = (re[a] + re[b]) / 2;
      const ei = (im[a] - im[b]) / 2;
      const or = (im[a] + im[b]) / 2;
      const oi = -(re[a] - re[b]) / 2;
      const wr = k < h ? this.twCos[k] : -1;
      const wi = k < h ? this.twSin[k] : 0;
      outRe[k] = er + or * wr - oi * wi;
      outIm[k] = ei + or * wi + oi * wr;
    }
  }
}
