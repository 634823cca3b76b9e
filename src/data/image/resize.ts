/**
 * Crop-and-resize of planar float images (avdigits' visual effects). Frames go through the image
 * addon's renderFrame instead, which applies the same filter to 8-bit pixels; its tests use this
 * one as their JavaScript reference.
 */
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
