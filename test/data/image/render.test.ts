/**
 * The image addon's renderFrame (decode, crop, antialiased bilinear resize, flip, normalise, in
 * one call) against two independent references, on [0, 1] pixel values (the normalisation
 * undone): mmgap's JavaScript resize of planar floats (resizeRegion) on the same decoded pixels,
 * and torch.nn.functional.interpolate(antialias=True) on integer crops. Bad arguments are clear
 * errors, and nothing outside the frame's slice of the output is written.
 */
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { DataError } from '../../../src/data/errors.js';
import { imageCodec } from '../../../src/data/image/codec.js';
import { decodePixels, renderFrame, toPlanarRgb, type FrameTransform, type ScaleDenom } from '../../../src/data/image/decode.js';
import { decodeScaleFor } from '../../../src/data/image/frames.js';
import { resizeRegion } from '../../../src/data/image/resize.js';
import { centreSquare, IMAGENET_MEAN, IMAGENET_STD, randomResizedCropBox } from '../../../src/data/image/transforms.js';
import { Rng } from '../../../src/data/rng.js';
import { maxAbsErr, pythonMissing, runPython } from '../helpers/python.js';

/** A scene with gradients and per-pixel noise (so that every tap matters), RGBA. */
function scene(width: number, height: number, rng: Rng): Uint8Array {
  const d = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const at = (y * width + x) * 4;
      const noise = (): number => Math.floor(rng.uniform() * 60);
      d[at] = Math.min(255, Math.floor((x * 200) / width) + noise());
      d[at + 1] = Math.min(255, Math.floor((y * 200) / height) + noise());
      d[at + 2] = (x + 3 * y + noise()) % 256;
      d[at + 3] = Math.floor(rng.uniform() * 256); // ignored: frames are RGB
    }
  }
  return d;
}

/** PNG's chunk checksum (CRC-32, polynomial 0xedb88320). */
function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

const rng = new Rng('render-test');
const JPG = new Uint8Array(jpeg.encode({ width: 340, height: 256, data: Buffer.from(scene(340, 256, rng)) }, 90).data);
const png = new PNG({ width: 53, height: 37 });
png.data = Buffer.from(scene(53, 37, rng));
const PNG_BYTES = new Uint8Array(PNG.sync.write(png));
const IMAGES = [
  { file: 'a.jpg', bytes: JPG, width: 340, height: 256 },
  { file: 'b.png', bytes: PNG_BYTES, width: 53, height: 37 },
];

/** renderFrame's output with the normalisation undone: [3, size, size] in [0, 1]. */
function rendered(bytes: Uint8Array, file: string, t: FrameTransform): Float32Array {
  const out = new Float32Array(3 * t.size * t.size);
  renderFrame(bytes, file, t, out, 0);
  const plane = t.size * t.size;
  return out.map((v, i) => v * t.std[Math.floor(i / plane)] + t.mean[Math.floor(i / plane)]);
}

/** The JavaScript reference: decode alone (exact against Pillow, codec.test.ts), planar floats, resizeRegion on the box scaled by 1/d, then the flip. */
function reference(bytes: Uint8Array, file: string, t: FrameTransform): Float32Array {
  const img = toPlanarRgb(decodePixels(bytes, file, t.scaleDenom));
  const d = t.scaleDenom;
  const box = { x: t.x / d, y: t.y / d, width: t.width / d, height: t.height / d };
  const r = resizeRegion(img.data, 3, img.height, img.width, box, t.size, t.size, true);
  if (!t.flip) return r;
  const n = t.size;
  return r.map((_, at) => r[at - (at % n) + n - 1 - (at % n)]);
}

const norm = { mean: IMAGENET_MEAN, std: IMAGENET_STD };

describe('renderFrame against resizeRegion on the same decoded pixels', () => {
  it('evaluation crops, random resized crops, fractional boxes, flips, DCT scalings, up- and downscaling: max |diff| <= 1e-6 on [0, 1]', () => {
    let worst = 0;
    let cases = 0;
    for (const { file, bytes, width, height } of IMAGES) {
      const isJpeg = file.endsWith('.jpg');
      for (let k = 0; k < 48; k++) {
        const size = [224, 112, 32, 7][k % 4];
        const box = k % 8 === 0 ? centreSquare(width, height)
          : k % 8 === 1 ? { x: rng.uniform(0, 5), y: rng.uniform(0, 5), width: rng.uniform(0.4, width - 5), height: rng.uniform(0.4, height - 5) }
          : randomResizedCropBox(width, height, rng);
        const scaleDenom: ScaleDenom = !isJpeg ? 1 : k % 3 === 0 ? decodeScaleFor(box, size) : ([1, 2, 4, 8] as const)[k % 4];
        const t = { ...box, size, flip: rng.uniform() < 0.5, scaleDenom, ...norm };
        worst = Math.max(worst, maxAbsErr(rendered(bytes, file, t), reference(bytes, file, t)));
        cases++;
      }
    }
    expect(cases).toBe(96);
    // measured 1.2e-7: float32 rounding (the addon normalises 8-bit sums, the reference resizes v / 255)
    expect(worst).toBeLessThanOrEqual(1e-6);
  });

  it('normalises exactly as (v / 255 - mean) / std, per channel', () => {
    const t = { x: 10, y: 20, width: 64, height: 64, size: 16, flip: false, scaleDenom: 1 as const };
    const plain = new Float32Array(3 * 256);
    renderFrame(JPG, 'a.jpg', { ...t, mean: [0, 0, 0], std: [1, 1, 1] }, plain, 0);
    const normed = new Float32Array(3 * 256);
    renderFrame(JPG, 'a.jpg', { ...t, mean: [0.1, 0.5, 0.9], std: [0.5, 2, 0.25] }, normed, 0);
    const want = plain.map((v, i) => (v - [0.1, 0.5, 0.9][Math.floor(i / 256)]) / [0.5, 2, 0.25][Math.floor(i / 256)]);
    expect(maxAbsErr(normed, want)).toBeLessThan(1e-6);
  });
});

describe.skipIf(pythonMissing !== null)('renderFrame against torch.nn.functional.interpolate (bilinear, antialias=True, align_corners=False, float64)', () => {
  it('integer crops of the decoded JPEG, down- and upscaled, flipped: max |diff| <= 1e-6 on [0, 1]', () => {
    const boxes = [
      { x: 42, y: 0, width: 256, height: 256, size: 224, flip: false },
      { x: 42, y: 0, width: 256, height: 256, size: 112, flip: true },
      { x: 7, y: 31, width: 150, height: 97, size: 224, flip: true },
      { x: 300, y: 200, width: 40, height: 56, size: 96, flip: false },
      { x: 0, y: 0, width: 340, height: 256, size: 13, flip: false },
    ];
    // 8-bit levels, planar; torch resizes them in float64 (its float32 path alone is 1.8e-5 off its float64 one)
    const levels = Float64Array.from(toPlanarRgb(decodePixels(JPG, 'a.jpg')).data, (v) => Math.round(v * 255));
    const torch = runPython(
      [
        'import torch',
        'x = torch.from_numpy(load("x")).reshape(1, 3, 256, 340) / 255',
        `for k, (bx, by, bw, bh, s, f) in enumerate(${JSON.stringify(boxes.map((b) => [b.x, b.y, b.width, b.height, b.size, b.flip ? 1 : 0]))}):`,
        '    y = torch.nn.functional.interpolate(x[:, :, by:by + bh, bx:bx + bw], size=(s, s), mode="bilinear", align_corners=False, antialias=True)',
        '    save(f"y{k}", (torch.flip(y, [3]) if f else y).contiguous().numpy())',
      ].join('\n'),
      { x: levels },
      boxes.map((_, k) => `y${k}`),
    );
    boxes.forEach((b, k) => {
      const got = rendered(JPG, 'a.jpg', { ...b, scaleDenom: 1, ...norm });
      // measured 1.4e-7 at most: the float32 output's rounding
      expect(maxAbsErr(got, torch[`y${k}`].data), JSON.stringify(b)).toBeLessThanOrEqual(1e-6);
    });
  });
});

describe('renderFrame: where it writes, and bad arguments', () => {
  const good = { x: 0, y: 0, width: 256, height: 256, size: 8, flip: false, scaleDenom: 1 as const, ...norm };
  const frame = 3 * 8 * 8;

  it('writes only out[offset, offset + 3 size^2), the same values at any offset', () => {
    const alone = new Float32Array(frame);
    renderFrame(JPG, 'a.jpg', good, alone, 0);
    const batch = new Float32Array(3 * frame + 5).fill(-7);
    renderFrame(JPG, 'a.jpg', good, batch, frame + 5);
    expect(Array.from(batch.subarray(frame + 5, 2 * frame + 5))).toEqual(Array.from(alone));
    expect(batch.subarray(0, frame + 5).every((v) => v === -7)).toBe(true);
    expect(batch.subarray(2 * frame + 5).every((v) => v === -7)).toBe(true);
  });

  it('a zero-size, out-of-range or non-finite crop box is a RangeError naming the box and the image size', () => {
    const out = new Float32Array(frame);
    for (const box of [
      { width: 0 },
      { height: -3 },
      { x: -1 },
      { x: 100, width: 241 },
      { y: 0.5, height: 256 },
      { x: Number.NaN },
      { width: Number.POSITIVE_INFINITY },
    ]) {
      const t = { ...good, ...box };
      expect(() => renderFrame(JPG, 'a.jpg', t, out, 0), JSON.stringify(box)).toThrow(RangeError);
      expect(() => renderFrame(JPG, 'a.jpg', t, out, 0)).toThrow(/^renderFrame: crop box x .* is not inside the 340x256 image/);
    }
    expect(() => renderFrame(PNG_BYTES, 'b.png', { ...good, width: 54, height: 10 }, out, 0)).toThrow(/is not inside the 53x37 image/);
  });

  it('a buffer too small for the frame at its offset, or a bad offset, is a RangeError saying what is needed', () => {
    expect(() => renderFrame(JPG, 'a.jpg', good, new Float32Array(frame - 1), 0)).toThrow(/^renderFrame: out holds 191 floats, but a 3x8x8 frame at offset 0 needs 192/);
    expect(() => renderFrame(JPG, 'a.jpg', good, new Float32Array(frame + 3), 4)).toThrow(/at offset 4 needs 196/);
    for (const offset of [-1, 1.5, Number.NaN]) {
      expect(() => renderFrame(JPG, 'a.jpg', good, new Float32Array(2 * frame), offset)).toThrow(/^renderFrame: offset must be a non-negative integer/);
    }
  });

  it('bad sizes, scales, normalisations and argument types are RangeErrors / TypeErrors, never a crash', () => {
    const out = new Float32Array(frame);
    const range: [Partial<FrameTransform>, RegExp][] = [
      [{ size: 0 }, /size must be an integer from 1 to 65536 \(got 0\)/],
      [{ size: 2.5 }, /size must be an integer/],
      [{ scaleDenom: 3 as ScaleDenom }, /scaleDenom must be 1, 2, 4 or 8/],
      [{ std: [0.2, 0, 0.2] }, /std non-zero/],
    ];
    for (const [bad, message] of range) {
      expect(() => renderFrame(JPG, 'a.jpg', { ...good, ...bad }, out, 0)).toThrow(RangeError);
      expect(() => renderFrame(JPG, 'a.jpg', { ...good, ...bad }, out, 0)).toThrow(message);
    }
    expect(() => renderFrame(PNG_BYTES, 'b.png', { ...good, width: 30, height: 30, scaleDenom: 2 }, out, 0)).toThrow(/scaleDenom must be 1 for a PNG/);
    const raw = imageCodec().renderFrame as (...args: unknown[]) => void;
    const types: [unknown[], RegExp][] = [
      [['x', good, out, 0], /expected a Uint8Array of encoded image bytes/],
      [[JPG, null, out, 0], /expected a transform/],
      [[JPG, { ...good, x: '0' }, out, 0], /transform\.x must be a number/],
      [[JPG, { ...good, flip: 1 }, out, 0], /transform\.flip must be a boolean/],
      [[JPG, { ...good, mean: [0, 0] }, out, 0], /transform\.mean must be an array of 3 numbers/],
      [[JPG, good, new Float64Array(frame), 0], /out must be a Float32Array/],
      [[JPG, good], /out must be a Float32Array/],
    ];
    for (const [args, message] of types) {
      expect(() => raw(...args)).toThrow(TypeError);
      expect(() => raw(...args)).toThrow(message);
    }
  });

  it('a damaged or non-image file is a DataError naming the file', () => {
    const out = new Float32Array(frame);
    const cut = JPG.subarray(0, JPG.length >> 1);
    expect(() => renderFrame(cut, 'frames/x/00001.jpg', good, out, 0)).toThrow(DataError);
    expect(() => renderFrame(cut, 'frames/x/00001.jpg', good, out, 0)).toThrow(/^frames\/x\/00001\.jpg: corrupt image: /);
    expect(() => renderFrame(PNG_BYTES.subarray(0, 60), 'cut.png', { ...good, width: 30, height: 30 }, out, 0)).toThrow(/^cut\.png: corrupt image: /);
    expect(() => renderFrame(new Uint8Array(64), 'zero.jpg', good, out, 0)).toThrow(/^zero\.jpg: not a JPEG or PNG image/);
  });

  it('a header claiming a gigantic image is a DataError before any memory is asked for (V8 would abort the process)', () => {
    const huge = PNG_BYTES.slice();
    const view = new DataView(huge.buffer);
    view.setUint32(16, 1_000_000); // IHDR width and height (libpng's own limit), then the chunk's CRC
    view.setUint32(20, 1_000_000);
    view.setUint32(29, crc32(huge.subarray(12, 29)));
    const box = { ...good, width: 10, height: 10 };
    expect(() => renderFrame(huge, 'huge.png', box, new Float32Array(frame), 0)).toThrow(/^huge\.png: corrupt image: the header claims 1000000x1000000 pixels, over 2 GiB decoded$/);
    expect(() => decodePixels(huge, 'huge.png')).toThrow(/^huge\.png: corrupt image: the header claims 1000000x1000000 pixels/);
  });
});
