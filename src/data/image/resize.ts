import type { Pixels } from './codec.js';

/** A region of an image in pixel units (may be fractional). */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

interface Taps {
  start: Int32Array;
  count: Int32Array;
  weights: Float32Array;
  maxTaps: number;
}

/** The input rows any output row reads (the vertical pass needs only these): first row and count. */
function rowSpan(ty: Taps, height: number): { rowLo: number; rows: number } {
  const rowLo = ty.start.reduce((a, b) => Math.min(a, b), height);
  let rowHi = 0;
  for (let i = 0; i < ty.start.length; i++) rowHi = Math.max(rowHi, ty.start[i] + ty.count[i]);
  return { rowLo, rows: rowHi - rowLo };
}

/**
 * Triangle-filter taps mapping `outLen` output pixels onto [offset, offset + length) of an axis
 * of `inLen` pixels, with pixel centres at +0.5 (align_corners=False). With antialias the filter
 * widens by the downscale factor (as PIL's bilinear resize, which torchvision uses for PIL images);
 * without it, plain bilinear interpolation. Taps outside the region are dropped and the rest
 * renormalised, so a box behaves as a crop followed by a resize (torchvision's resized_crop).
 */
function taps(inLen: number, offset: number, length: number, outLen: number, antialias: boolean): Taps {
  const scale = length / outLen;
  const support = antialias && scale > 1 ? scale : 1;
  const maxTaps = Math.ceil(support) * 2 + 1;
  const first = Math.max(0, Math.floor(offset));
  const last = Math.min(inLen - 1, Math.ceil(offset + length) - 1);
  const start = new Int32Array(outLen);
  const count = new Int32Array(outLen);
  const weights = new Float32Array(outLen * maxTaps);
  for (let i = 0; i < outLen; i++) {
    const centre = offset + (i + 0.5) * scale;
    const lo = Math.max(first, Math.floor(centre - support));
    const hi = Math.min(last, Math.ceil(centre + support));
    let sum = 0;
    let n = 0;
    for (let j = lo; j <= hi && n < maxTaps; j++) {
      const w = Math.max(0, 1 - Math.abs(j + 0.5 - centre) / support);
      weights[i * maxTaps + n++] = w;
      sum += w;
    }
    if (sum === 0) {
      // no pixel under the filter (degenerate box): take the nearest pixel of the region
      weights[i * maxTaps] = 1;
      n = 1;
      sum = 1;
      start[i] = Math.min(last, Math.max(first, Math.round(centre - 0.5)));
    } else {
      start[i] = lo;
    }
    for (let k = 0; k < n; k++) weights[i * maxTaps + k] /= sum;
    count[i] = n;
  }
  return { start, count, weights, maxTaps };
}

/** Where and how `resizePixels` writes: planar [3, outHeight, outWidth] at `offset`, value x scale[c] - shift[c], mirrored left-right with `flip`. */
export interface PixelTarget {
  out: Float32Array;
  offset: number;
  flip: boolean;
  scale: readonly number[];
  shift: readonly number[];
}

/** The horizontal pass's rows, reused from call to call (a fresh large buffer per frame costs page faults). */
let rowScratch = new Float32Array(0);

/**
 * Resamples `box` of interleaved 8-bit pixels (RGB or RGBA; alpha ignored) to outHeight x outWidth
 * with the same filter as `resizeRegion`, straight from the decoder's output (no float copy of the
 * whole image first), and writes it through `target`'s affine map and flip.
 */
export function resizePixels(p: Pixels, box: Box, outHeight: number, outWidth: number, target: PixelTarget): void {
  const { width, height, channels: C, data } = p;
  const tx = taps(width, box.x, box.width, outWidth, true);
  const ty = taps(height, box.y, box.height, outHeight, true);
  const { rowLo, rows } = rowSpan(ty, height);
  const plane = rows * outWidth;
  if (rowScratch.length < 3 * plane) rowScratch = new Float32Array(3 * plane);
  const tmp = rowScratch;
  for (let r = 0; r < rows; r++) {
    const rowAt = (rowLo + r) * width;
    for (let i = 0; i < outWidth; i++) {
      let a0 = 0, a1 = 0, a2 = 0;
      let s = (rowAt + tx.start[i]) * C;
      const wAt = i * tx.maxTaps;
      for (let k = 0; k < tx.count[i]; k++, s += C) {
        const w = tx.weights[wAt + k];
        a0 += data[s] * w;
        a1 += data[s + 1] * w;
        a2 += data[s + 2] * w;
      }
      const at = r * outWidth + i;
      tmp[at] = a0;
      tmp[plane + at] = a1;
      tmp[2 * plane + at] = a2;
    }
  }
  const { out, offset, flip } = target;
  const outPlane = outHeight * outWidth;
  // Vertical pass a row at a time (contiguous reads); the sums run in the same order, in doubles.
  const acc = new Float64Array(outWidth);
  for (let c = 0; c < 3; c++) {
    const scale = target.scale[c];
    const shift = target.shift[c];
    for (let j = 0; j < outHeight; j++) {
      const wAt = j * ty.maxTaps;
      const first = c * plane + (ty.start[j] - rowLo) * outWidth;
      acc.fill(0);
      for (let k = 0; k < ty.count[j]; k++) {
        const w = ty.weights[wAt + k];
        const row = first + k * outWidth;
        for (let i = 0; i < outWidth; i++) acc[i] += tmp[row + i] * w;
      }
      const o = offset + c * outPlane + j * outWidth;
      if (flip) for (let i = 0; i < outWidth; i++) out[o + outWidth - 1 - i] = acc[i] * scale - shift;
      else for (let i = 0; i < outWidth; i++) out[o + i] = acc[i] * scale - shift;
    }
  }
}

/**
 * Resamples `box` of a planar [channels, height, width] image to outHeight x outWidth (separable
 * bilinear/triangle filter). Returns planar [channels, outHeight, outWidth].
 */
export function resizeRegion(
  src: Float32Array,
  channels: number,
  height: number,
  width: number,
  box: Box,
  outHeight: number,
  outWidth: number,
  antialias = true,
): Float32Array {
  const tx = taps(width, box.x, box.width, outWidth, antialias);
  const ty = taps(height, box.y, box.height, outHeight, antialias);
  const { rowLo, rows } = rowSpan(ty, height);
  const tmp = new Float32Array(rows * outWidth);
  const out = new Float32Array(channels * outHeight * outWidth);
  for (let c = 0; c < channels; c++) {
    const plane = c * height * width;
    for (let r = 0; r < rows; r++) {
      const rowAt = plane + (rowLo + r) * width;
      for (let i = 0; i < outWidth; i++) {
        let acc = 0;
        const s = rowAt + tx.start[i];
        const wAt = i * tx.maxTaps;
        for (let k = 0; k < tx.count[i]; k++) acc += src[s + k] * tx.weights[wAt + k];
        tmp[r * outWidth + i] = acc;
      }
    }
    const outPlane = c * outHeight * outWidth;
    for (let j = 0; j < outHeight; j++) {
      const wAt = j * ty.maxTaps;
      const first = ty.start[j] - rowLo;
      for (let i = 0; i < outWidth; i++) {
        let acc = 0;
        for (let k = 0; k < ty.count[j]; k++) acc += tmp[(first + k) * outWidth + i] * ty.weights[wAt + k];
        out[outPlane + j * outWidth + i] = acc;
      }
    }
  }
  return out;
}
