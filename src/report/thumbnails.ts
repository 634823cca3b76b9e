/**
 * Thumbnails of one sample's features for the report's gallery, chosen by the rank of the
 * canonical per-sample shape: [D] vector -> heat strip; [T, D] sequence -> heat map, time on x;
 * [C, H, W] image -> grey (C = 1) or RGB (C = 3); [T, C, H, W] frames -> the middle frame.
 * Features are normalised, so every thumbnail is min-max scaled on its own values. Sides longer
 * than THUMBNAIL_MAX are box-averaged down (small inputs stay at their own resolution and the page
 * scales them up), and the result is a PNG data URI, so the report stays self-contained.
 */
import { PNG } from 'pngjs';

/** Longest side, in pixels, of a thumbnail's raster and of its displayed size. */
export const THUMBNAIL_MAX = 96;
/** Displayed height of a vector's heat strip. */
const STRIP_HEIGHT = 16;
/** Shortest displayed side: a few steps of a long feature vector would otherwise show as a sliver. */
const THUMBNAIL_MIN = 24;

/** Matplotlib's viridis at nine evenly spaced stops: ordered in lightness, readable in grey print. */
const VIRIDIS: readonly (readonly [number, number, number])[] = [
  [68, 1, 84], [71, 44, 122], [59, 81, 139], [44, 113, 142], [33, 144, 141],
  [39, 173, 129], [92, 200, 99], [170, 220, 50], [253, 231, 37],
];

/** A thumbnail that cannot be drawn: names the modality's shape and what is wrong with it. */
export class ThumbnailError extends Error {
  override name = 'ThumbnailError';
}

/** An RGBA raster (row-major, 4 bytes a pixel) and how it was drawn. */
export interface Raster {
  width: number;
  height: number;
  rgba: Uint8Array;
  /** 'heat' (viridis), 'grey' or 'rgb'. */
  colours: 'heat' | 'grey' | 'rgb';
  /** What the picture shows, e.g. "sequence [53, 26] as a heat map (time →)". */
  view: string;
  /** Smallest and largest finite value, the ends of the colour scale. */
  range: [number, number];
  /** Values that were NaN or infinite (drawn at the low end of the scale). */
  nonFinite: number;
}

export interface Thumbnail {
  /** data:image/png;base64,... */
  uri: string;
  /** Size to display it at (the raster scaled so that its longer side is THUMBNAIL_MAX). */
  width: number;
  height: number;
  /** A one-line description for the image's title: view, value range, non-finite count. */
  title: string;
}

/** One channel of values, row-major [height, width]. */
interface Plane { width: number; height: number; values: Float32Array }

/**
 * The shape of `length` values stored under `shape`. A sequence or frame stack whose length T
 * varies per sample holds T x (the other dimensions) values, so T is read from the length.
 */
export function sampleShape(shape: readonly number[], length: number): number[] {
  const size = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);
  if (shape.length > 0 && shape.every((d) => Number.isInteger(d) && d > 0) && size(shape) === length) return [...shape];
  const inner = shape.slice(1);
  if ((shape.length === 2 || shape.length === 4) && inner.every((d) => Number.isInteger(d) && d > 0) && length > 0 && length % size(inner) === 0) {
    return [length / size(inner), ...inner];
  }
  throw new ThumbnailError(`${length} values do not fill the shape [${shape.join(', ')}]${shape.length === 2 || shape.length === 4 ? ` (nor T x [${inner.join(', ')}] for any T)` : ''}`);
}

/** Box-averages a plane down so that neither side exceeds `max` (never up). */
function shrink(p: Plane, max: number): Plane {
  const width = Math.min(p.width, max);
  const height = Math.min(p.height, max);
  if (width === p.width && height === p.height) return p;
  const values = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    const y0 = Math.floor((y * p.height) / height);
    const y1 = Math.max(y0 + 1, Math.floor(((y + 1) * p.height) / height));
    for (let x = 0; x < width; x++) {
      const x0 = Math.floor((x * p.width) / width);
      const x1 = Math.max(x0 + 1, Math.floor(((x + 1) * p.width) / width));
      let sum = 0;
      let count = 0;
      for (let sy = y0; sy < y1; sy++) {
        for (let sx = x0; sx < x1; sx++) {
          const v = p.values[sy * p.width + sx] as number;
          // A non-finite value would blank its whole box; the finite neighbours still carry the picture.
          if (Number.isFinite(v)) {
            sum += v;
            count++;
          }
        }
      }
      values[y * width + x] = count > 0 ? sum / count : NaN;
    }
  }
  return { width, height, values };
}

/** Smallest and largest finite value of the planes, and how many values are not finite. */
function valueRange(planes: readonly Plane[]): { lo: number; hi: number; nonFinite: number } {
  let lo = Infinity, hi = -Infinity, nonFinite = 0;
  for (const p of planes) {
    for (const v of p.values) {
      if (!Number.isFinite(v)) nonFinite++;
      else {
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
  }
  return lo > hi ? { lo: 0, hi: 0, nonFinite } : { lo, hi, nonFinite };
}

/** Value -> [0, 1] on the thumbnail's own range; a constant thumbnail sits mid-scale. */
function scaler(lo: number, hi: number): (v: number) => number {
  if (hi === lo) return (v) => (Number.isFinite(v) ? 0.5 : 0);
  return (v) => (Number.isFinite(v) ? (v - lo) / (hi - lo) : 0);
}

function viridis(t: number): readonly [number, number, number] {
  const x = Math.min(1, Math.max(0, t)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const f = x - i;
  const a = VIRIDIS[i] as readonly [number, number, number];
  const b = VIRIDIS[i + 1] as readonly [number, number, number];
  return [Math.round(a[0] + f * (b[0] - a[0])), Math.round(a[1] + f * (b[1] - a[1])), Math.round(a[2] + f * (b[2] - a[2]))];
}

/** Colours `planes` (1 for heat or grey, 3 for RGB) of equal size into a raster. */
function colour(planes: readonly Plane[], colours: Raster['colours'], view: string): Raster {
  const { width, height } = planes[0] as Plane;
  const { lo, hi, nonFinite } = valueRange(planes);
  const scale = scaler(lo, hi);
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    let rgb: readonly [number, number, number];
    if (colours === 'heat') rgb = viridis(scale((planes[0] as Plane).values[i] as number));
    else {
      const level = (c: number): number => Math.round(255 * Math.min(1, Math.max(0, scale((planes[c] as Plane).values[i] as number))));
      rgb = colours === 'grey' ? [level(0), level(0), level(0)] : [level(0), level(1), level(2)];
    }
    rgba.set([rgb[0], rgb[1], rgb[2], 255], 4 * i);
  }
  return { width, height, rgba, colours, view, range: [lo, hi], nonFinite };
}

/** Channel `c` of an image [C, H, W] stored from `offset`. */
function channel(data: Float32Array, offset: number, c: number, h: number, w: number): Plane {
  return { width: w, height: h, values: data.subarray(offset + c * h * w, offset + (c + 1) * h * w) };
}

function imageRaster(data: Float32Array, offset: number, [c, h, w]: number[] & { length: 3 }, what: string): Raster {
  if (c === 3) return colour([0, 1, 2].map((k) => shrink(channel(data, offset, k, h, w), THUMBNAIL_MAX)), 'rgb', `${what} in colour`);
  return colour([shrink(channel(data, offset, 0, h, w), THUMBNAIL_MAX)], 'grey', c === 1 ? `${what} in grey` : `${what}, channel 1 of ${c}, in grey`);
}

/**
 * The raster of one sample's features `data` stored under the modality's `shape` (see the file
 * header for the view of each rank). Throws a ThumbnailError for a rank it cannot show.
 */
export function thumbnailRaster(data: Float32Array, shape: readonly number[]): Raster {
  const s = sampleShape(shape, data.length);
  const dims = `[${s.join(', ')}]`;
  switch (s.length) {
    case 1:
      return colour([shrink({ width: s[0] as number, height: 1, values: data }, THUMBNAIL_MAX)], 'heat', `vector ${dims} as a heat strip`);
    case 2: {
      // [T, D] -> time on x, feature 0 at the bottom (as a spectrogram's lowest band).
      const [t, d] = s as [number, number];
      const values = new Float32Array(t * d);
      for (let ti = 0; ti < t; ti++) for (let di = 0; di < d; di++) values[(d - 1 - di) * t + ti] = data[ti * d + di] as number;
      return colour([shrink({ width: t, height: d, values }, THUMBNAIL_MAX)], 'heat', `sequence ${dims} as a heat map (time →)`);
    }
    case 3:
      return imageRaster(data, 0, s as number[] & { length: 3 }, `image ${dims}`);
    case 4: {
      const [t, c, h, w] = s as [number, number, number, number];
      const middle = Math.floor(t / 2);
      return imageRaster(data, middle * c * h * w, [c, h, w] as number[] & { length: 3 }, `frame ${middle + 1} of ${t} of ${dims}`);
    }
    default:
      throw new ThumbnailError(`shape ${dims} has rank ${s.length}; thumbnails show [D], [T, D], [C, H, W] and [T, C, H, W]`);
  }
}

/** A raster as PNG bytes: greyscale when it is grey, else RGB (no alpha: every pixel is opaque). */
export function encodePng(r: Raster): Buffer {
  const png = new PNG({ width: r.width, height: r.height });
  png.data = Buffer.from(r.rgba.buffer, r.rgba.byteOffset, r.rgba.byteLength);
  return PNG.sync.write(png, { colorType: r.colours === 'grey' ? 0 : 2, inputColorType: 6, inputHasAlpha: true });
}

function fmt(v: number): string {
  return Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(2) : String(Number(v.toFixed(3)));
}

/** The thumbnail of one sample's features (see thumbnailRaster). */
export function renderThumbnail(data: Float32Array, shape: readonly number[]): Thumbnail {
  const r = thumbnailRaster(data, shape);
  const strip = r.height === 1;
  const scale = THUMBNAIL_MAX / Math.max(r.width, strip ? 1 : r.height);
  const title = `${r.view}; values ${fmt(r.range[0])} … ${fmt(r.range[1])}${r.nonFinite > 0 ? `; ${r.nonFinite} not finite` : ''}`;
  return {
    uri: `data:image/png;base64,${encodePng(r).toString('base64')}`,
    width: Math.max(THUMBNAIL_MIN, Math.round(r.width * scale)),
    height: strip ? STRIP_HEIGHT : Math.max(THUMBNAIL_MIN, Math.round(r.height * scale)),
    title,
  };
}
