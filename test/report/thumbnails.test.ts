/** Thumbnails by rank: known small arrays give known pixels, and the PNG holds exactly the raster. */
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { renderThumbnail, sampleShape, THUMBNAIL_MAX, thumbnailRaster, ThumbnailError, type Raster } from '../../src/report/thumbnails.js';

const VIRIDIS_LOW = [68, 1, 84];
const VIRIDIS_MID = [33, 144, 141];
const VIRIDIS_HIGH = [253, 231, 37];

/** RGB of pixel (x, y); y = 0 is the top row. */
function rgb(r: Raster, x: number, y: number): number[] {
  const i = 4 * (y * r.width + x);
  return [r.rgba[i] as number, r.rgba[i + 1] as number, r.rgba[i + 2] as number];
}

function greys(r: Raster): number[] {
  return Array.from({ length: r.width * r.height }, (_, i) => r.rgba[4 * i] as number);
}

describe('thumbnailRaster', () => {
  it('[D] vector: a one-row viridis strip, min-max scaled', () => {
    const r = thumbnailRaster(Float32Array.of(-2, 0, 2), [3]);
    expect([r.width, r.height, r.colours]).toEqual([3, 1, 'heat']);
    expect([rgb(r, 0, 0), rgb(r, 1, 0), rgb(r, 2, 0)]).toEqual([VIRIDIS_LOW, VIRIDIS_MID, VIRIDIS_HIGH]);
    expect(r.range).toEqual([-2, 2]);
  });

  it('[T, D] sequence: time on x, feature 0 at the bottom', () => {
    // t0 = [0, 1, 2], t1 = [3, 4, 5]
    const r = thumbnailRaster(Float32Array.of(0, 1, 2, 3, 4, 5), [2, 3]);
    expect([r.width, r.height, r.colours]).toEqual([2, 3, 'heat']);
    expect(rgb(r, 0, 2)).toEqual(VIRIDIS_LOW); // t0, feature 0
    expect(rgb(r, 1, 0)).toEqual(VIRIDIS_HIGH); // t1, feature 2
    // t0, feature 2 = 2/5 of the range: 3.2 stops up viridis, between (44,113,142) and (33,144,141).
    expect(rgb(r, 0, 0)).toEqual([42, 119, 142]);
    expect(r.view).toContain('sequence [2, 3]');
  });

  it('[T, D] sequence of a ragged modality: T read from the array length', () => {
    // The spec holds the fitted length 10; this sample has 4 steps of 3 features.
    const r = thumbnailRaster(new Float32Array(12).map((_, i) => i), [10, 3]);
    expect([r.width, r.height]).toEqual([4, 3]);
    expect(r.view).toContain('[4, 3]');
  });

  it('[1, H, W] image: grey levels', () => {
    const r = thumbnailRaster(Float32Array.of(0, 1, 2, 3), [1, 2, 2]);
    expect([r.width, r.height, r.colours]).toEqual([2, 2, 'grey']);
    expect(greys(r)).toEqual([0, 85, 170, 255]);
  });

  it('[3, H, W] image: RGB scaled on one range for all channels', () => {
    // R = [0, 10], G = [5, 5], B = [10, 0]
    const r = thumbnailRaster(Float32Array.of(0, 10, 5, 5, 10, 0), [3, 1, 2]);
    expect(r.colours).toBe('rgb');
    expect([rgb(r, 0, 0), rgb(r, 1, 0)]).toEqual([[0, 128, 255], [255, 128, 0]]);
  });

  it('[C, H, W] with another C: its first channel in grey', () => {
    const r = thumbnailRaster(Float32Array.of(0, 4, 100, 100), [2, 1, 2]);
    expect(greys(r)).toEqual([0, 255]);
    expect(r.view).toContain('channel 1 of 2');
  });

  it('[T, C, H, W] frames: the middle frame, also when T varies', () => {
    const r = thumbnailRaster(Float32Array.of(0, 0, 1, 3, 9, 9), [3, 1, 1, 2]);
    expect(greys(r)).toEqual([0, 255]);
    expect(r.view).toContain('frame 2 of 3');
    const ragged = thumbnailRaster(Float32Array.of(7, 7, 5, 5, 1, 3, 9, 9, 2, 2), [8, 1, 1, 2]);
    expect(ragged.view).toContain('frame 3 of 5');
    expect(greys(ragged)).toEqual([0, 255]);
  });

  it('box-averages long sides down to THUMBNAIL_MAX, never up', () => {
    const r = thumbnailRaster(new Float32Array(200).map((_, i) => i), [1, 1, 200]);
    expect([r.width, r.height]).toEqual([THUMBNAIL_MAX, 1]);
    const g = greys(r);
    expect(g[0]).toBe(0);
    expect(g[g.length - 1]).toBe(255);
    expect(g.every((v, i) => i === 0 || v >= (g[i - 1] as number))).toBe(true);
    expect(thumbnailRaster(new Float32Array(28 * 28), [1, 28, 28]).width).toBe(28);
  });

  it('a constant sample sits mid-scale; non-finite values are counted and drawn at the low end', () => {
    expect(greys(thumbnailRaster(new Float32Array(4).fill(3), [1, 2, 2]))).toEqual([128, 128, 128, 128]);
    const r = thumbnailRaster(Float32Array.of(NaN, 0, 1, Infinity), [1, 2, 2]);
    expect(greys(r)).toEqual([0, 0, 255, 0]);
    expect(r.nonFinite).toBe(2);
  });

  it('refuses a rank it cannot show and a length that fits no shape, naming the shape', () => {
    expect(() => thumbnailRaster(new Float32Array(32), [2, 2, 2, 2, 2])).toThrow(ThumbnailError);
    expect(() => thumbnailRaster(new Float32Array(32), [2, 2, 2, 2, 2])).toThrow(/rank 5/);
    expect(() => thumbnailRaster(new Float32Array(7), [1, 2, 2])).toThrow(/7 values do not fill the shape \[1, 2, 2\]/);
    expect(() => sampleShape([10, 3], 7)).toThrow(/nor T x \[3\]/);
  });
});

describe('renderThumbnail', () => {
  it('encodes exactly the raster as a PNG data URI, displayed at THUMBNAIL_MAX on its longer side', () => {
    const data = new Float32Array(3 * 4 * 6).map((_, i) => Math.sin(i));
    const t = renderThumbnail(data, [3, 4, 6]);
    expect(t.uri.startsWith('data:image/png;base64,')).toBe(true);
    const png = PNG.sync.read(Buffer.from(t.uri.slice('data:image/png;base64,'.length), 'base64'));
    const raster = thumbnailRaster(data, [3, 4, 6]);
    expect([png.width, png.height]).toEqual([6, 4]);
    expect(Array.from(png.data)).toEqual(Array.from(raster.rgba));
    expect([t.width, t.height]).toEqual([THUMBNAIL_MAX, 64]);
    expect(t.title).toMatch(/^image \[3, 4, 6\] in colour; values -/);
  });

  it('grey thumbnails decode to the same grey levels; strips get a fixed height', () => {
    const t = renderThumbnail(Float32Array.of(0, 1, 2, 3), [1, 2, 2]);
    const png = PNG.sync.read(Buffer.from(t.uri.split(',')[1] as string, 'base64'));
    expect(Array.from({ length: 4 }, (_, i) => png.data[4 * i])).toEqual([0, 85, 170, 255]);
    expect(t.title).toBe('image [1, 2, 2] in grey; values 0 … 3');
    expect([t.width, t.height]).toEqual([THUMBNAIL_MAX, THUMBNAIL_MAX]);
    const strip = renderThumbnail(new Float32Array(32).map((_, i) => i), [32]);
    expect([strip.width, strip.height]).toEqual([THUMBNAIL_MAX, 16]);
    // 3 steps of 512 features: stretched to a readable width rather than a 1-px sliver.
    const short = renderThumbnail(new Float32Array(3 * 512).map((_, i) => i % 7), [3, 512]);
    expect([short.width, short.height]).toEqual([24, THUMBNAIL_MAX]);
  });
});
