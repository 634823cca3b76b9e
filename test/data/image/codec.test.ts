/**
 * The image addon (libjpeg-turbo, libpng) against Pillow and numpy: the same libjpeg-turbo decodes
 * JPEGs, so full-size and DCT-scaled decodes must match Pillow exactly; PNGs of every layout match
 * their source pixels. Damaged files are DataErrors naming the file.
 */
import { describe, expect, it, vi } from 'vitest';
import { DataError } from '../../../src/data/errors.js';
import { decodePixels, imageSize } from '../../../src/data/image/decode.js';
import { decodeScaleFor, renderImage } from '../../../src/data/image/frames.js';
import { IMAGENET_MEAN, IMAGENET_STD } from '../../../src/data/image/transforms.js';
import { pythonBytes, pythonMissing } from '../helpers/python.js';

/** Records written by a Python snippet: name, then length-prefixed blobs (encoded file, reference pixels, ...). */
function records(script: string): Map<string, Uint8Array[]> {
  const raw = pythonBytes([
    'import io, struct, zlib, numpy as np',
    'from PIL import Image',
    'recs = []',
    'def rec(name, *blobs):',
    '    recs.append((name, blobs))',
    'def jpeg(im, **kw):',
    "    b = io.BytesIO(); im.save(b, 'JPEG', **kw); return b.getvalue()",
    'def png(im, **kw):',
    "    b = io.BytesIO(); im.save(b, 'PNG', **kw); return b.getvalue()",
    'def ref(im):',
    "    return np.ascontiguousarray(np.asarray(im.convert('RGB'), dtype=np.uint8)).tobytes()",
    'rs = np.random.RandomState(0)',
    'def scene(w, h):',
    '    y, x = np.mgrid[0:h, 0:w]',
    '    a = np.stack([x * 255 // w, y * 255 // h, (x + y) % 256], -1) + rs.randint(0, 40, (h, w, 3))',
    '    return np.clip(a, 0, 255).astype(np.uint8)',
    script,
    'out = b""',
    'for name, blobs in recs:',
    "    n = name.encode(); out += struct.pack('<I', len(n)) + n + struct.pack('<I', len(blobs))",
    "    for bl in blobs: out += struct.pack('<I', len(bl)) + bl",
  ].join('\n'));
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const map = new Map<string, Uint8Array[]>();
  let at = 0;
  const u32 = (): number => { const v = view.getUint32(at, true); at += 4; return v; };
  while (at < raw.length) {
    const n = u32();
    const name = new TextDecoder().decode(raw.subarray(at, at + n));
    at += n;
    const blobs: Uint8Array[] = [];
    for (let k = u32(); k > 0; k--) { const len = u32(); blobs.push(raw.slice(at, at + len)); at += len; }
    map.set(name, blobs);
  }
  return map;
}

/** Max |a - b| over the RGB channels of interleaved pixels (`a` may carry alpha). */
function maxDiff(a: { data: Uint8Array; channels: number }, rgb: Uint8Array): number {
  let m = 0;
  for (let i = 0, j = 0; j < rgb.length; i += a.channels, j += 3) {
    for (let c = 0; c < 3; c++) m = Math.max(m, Math.abs(a.data[i + c] - rgb[j + c]));
  }
  return m;
}

describe.skipIf(pythonMissing !== null)('image addon against Pillow (the same libjpeg-turbo)', () => {
  const jpegs = records([
    "rec('rgb420', jpeg(Image.fromarray(scene(340, 256)), quality=90))",
    "rec('rgb444', jpeg(Image.fromarray(scene(101, 77)), quality=95, subsampling=0))",
    "rec('grey', jpeg(Image.fromarray(scene(64, 48)).convert('L'), quality=90))",
    'recs = [(name, (b[0], ref(Image.open(io.BytesIO(b[0]))))) for name, b in recs]',
    "big = jpeg(Image.fromarray(scene(340, 256)), quality=90)",
    'for d in (2, 4, 8):',
    '    im = Image.open(io.BytesIO(big)); im.draft(\'RGB\', (340 // d, 256 // d))',
    "    rec(f'draft{d}', big, ref(im), struct.pack('<II', *im.size))",
  ].join('\n'));

  it('decodes JPEGs (4:2:0, 4:4:4, odd sizes, grey) exactly as Pillow does', () => {
    for (const name of ['rgb420', 'rgb444', 'grey']) {
      const [bytes, want] = jpegs.get(name)!;
      const got = decodePixels(bytes, `${name}.jpg`);
      expect(got.channels).toBe(3);
      expect(got.width * got.height * 3).toBe(want.length);
      expect(maxDiff(got, want), name).toBe(0);
    }
    expect(imageSize(jpegs.get('rgb444')![0], 'x.jpg')).toEqual({ width: 101, height: 77, format: 'jpeg' });
    expect(imageSize(pngs.get('rgb8')![0], 'x.png')).toEqual({ width: 37, height: 23, format: 'png' });
  });

  it('decodes into a caller\'s buffer when it is large enough, else into a new one', () => {
    const [bytes, want] = jpegs.get('rgb444')!;
    const big = new Uint8Array(want.length + 10);
    const got = decodePixels(bytes, 'x.jpg', 1, big);
    expect(got.data).toBe(big);
    expect(maxDiff(got, want)).toBe(0);
    const small = new Uint8Array(want.length - 1);
    expect(decodePixels(bytes, 'x.jpg', 1, small).data).not.toBe(small);
    const [png] = pngs.get('rgb8')!;
    const rgba = new Uint8Array(37 * 23 * 4);
    expect(decodePixels(png, 'x.png', 1, rgba).data).toBe(rgba);
  });

  it('decodes at 1/2, 1/4, 1/8 size (DCT scaling) as Pillow\'s draft mode does', () => {
    for (const d of [2, 4, 8] as const) {
      const [bytes, want, size] = jpegs.get(`draft${d}`)!;
      const [w, h] = new Uint32Array(size.slice().buffer);
      const got = decodePixels(bytes, 'big.jpg', d);
      expect([got.width, got.height]).toEqual([w, h]);
      expect([w, h]).toEqual([Math.ceil(340 / d), Math.ceil(256 / d)]);
      expect(maxDiff(got, want), `1/${d}`).toBe(0);
    }
  });

  const pngs = records([
    // a PNG writer for any colour type and bit depth (Pillow writes only some of them)
    'def raw_png(a, colour, depth):',
    '    h, w = a.shape[:2]; a = a.reshape(h, w, -1)',
    "    if depth == 16: rows = a.astype('>u2').reshape(h, -1).view(np.uint8).reshape(h, -1)",
    '    elif depth == 8: rows = a.astype(np.uint8).reshape(h, -1)',
    '    else:',
    '        per = 8 // depth; v = a.reshape(h, w).astype(np.uint8); pad = (-w) % per',
    '        v = np.pad(v, ((0, 0), (0, pad))).reshape(h, -1, per)',
    '        rows = sum(v[:, :, k] << (8 - depth * (k + 1)) for k in range(per)).astype(np.uint8)',
    '    data = b"".join(b"\\x00" + r.tobytes() for r in rows)',
    "    chunk = lambda t, d: struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)",
    "    return b'\\x89PNG\\r\\n\\x1a\\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, depth, colour, 0, 0, 0)) + chunk(b'IDAT', zlib.compress(data)) + chunk(b'IEND', b'')",
    'rgb = scene(37, 23)',
    "rec('rgb8', png(Image.fromarray(rgb)), rgb.tobytes())",
    'alpha = (np.arange(37 * 23) % 256).astype(np.uint8).reshape(23, 37, 1)',
    "rec('rgba8', png(Image.fromarray(np.concatenate([rgb, alpha], -1))), rgb.tobytes())",
    "p = Image.fromarray(rgb).convert('P', palette=Image.ADAPTIVE, colors=16)",
    "rec('palette', png(p), ref(p))",
    "g = Image.fromarray(rgb).convert('L')",
    "rec('grey-alpha', png(Image.merge('LA', (g, g.point(lambda v: 255 - v)))), ref(g))",
    'bits = (rs.rand(23, 37) > 0.5).astype(np.uint8)',
    "rec('grey1', raw_png(bits, 0, 1), np.repeat(bits * 255, 3).astype(np.uint8).tobytes())",
    'two = rs.randint(0, 4, (23, 37)).astype(np.uint8)',
    "rec('grey2', raw_png(two, 0, 2), np.repeat(two * 85, 3).astype(np.uint8).tobytes())",
    'deep = rs.randint(0, 65536, (23, 37, 3))',
    "rec('rgb16', raw_png(deep, 2, 16), np.round(deep / 257).astype(np.uint8).tobytes())",
    "rec('grey16', raw_png(deep[:, :, 0], 0, 16), np.repeat(np.round(deep[:, :, 0] / 257), 3).astype(np.uint8).tobytes())",
  ].join('\n'));

  it('decodes PNGs of every layout and bit depth (8-bit exactly, 16-bit to the nearest 8-bit level)', () => {
    for (const [name, [bytes, want]] of pngs) {
      const got = decodePixels(bytes, `${name}.png`);
      expect([got.width, got.height, got.channels], name).toEqual([37, 23, 4]);
      expect(maxDiff(got, want), name).toBeLessThanOrEqual(name.endsWith('16') ? 1 : 0);
    }
  });

  it('rejects damaged, truncated or unsupported files with a DataError naming the file, never crashing', () => {
    const [jpg] = jpegs.get('rgb420')!;
    const [png] = pngs.get('rgb8')!;
    const zeroed = jpg.slice();
    zeroed.fill(0, 700, 4000);
    const idat = png.slice();
    idat[png.length - 20] ^= 0xff; // inside the compressed pixels (the chunk CRC is not checked first: zlib's check fails)
    const crc = png.slice();
    crc[29] ^= 0xff; // the header chunk's CRC
    const cmyk = records("rec('cmyk', jpeg(Image.fromarray(scene(16, 16)).convert('CMYK')))").get('cmyk')![0];
    const bad: [string, Uint8Array, RegExp][] = [
      ['frames/a/00001.jpg', zeroed, /^frames\/a\/00001\.jpg: corrupt image: /],
      ['cut.jpg', jpg.subarray(0, jpg.length >> 1), /^cut\.jpg: corrupt image: Premature end of JPEG file/],
      ['cut.png', png.subarray(0, png.length >> 1), /^cut\.png: corrupt image: /],
      ['idat.png', idat, /^idat\.png: corrupt image: IDAT/],
      ['crc.png', crc, /^crc\.png: corrupt image: IHDR: CRC error/],
      ['cmyk.jpg', cmyk, /^cmyk\.jpg: corrupt image: /],
      ['zero.jpg', new Uint8Array(50), /^zero\.jpg: not a JPEG or PNG image/],
    ];
    for (const [file, bytes, message] of bad) {
      expect(() => decodePixels(bytes, file), file).toThrow(DataError);
      expect(() => decodePixels(bytes, file), file).toThrow(message);
    }
    expect(() => imageSize(new Uint8Array([0xff, 0xd8, 0xff, 0, 0]), 'head.jpg')).toThrow(/^head\.jpg: corrupt image/);
    expect(() => imageSize(png.subarray(0, 20), 'head.png')).toThrow(/^head\.png: corrupt image/);
  });
});

describe('without the image addon', () => {
  it('decoding fails with the fix, not as the file\'s fault', async () => {
    vi.resetModules();
    vi.stubEnv('MMGAP_IMAGE_NATIVE', '/nonexistent/mmgap_image.node');
    try {
      const fresh = await import('../../../src/data/image/decode.js');
      const jpg = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 0]);
      expect(() => fresh.decodePixels(jpg, 'a.jpg')).toThrow(/^mmgap: the image addon is not built .*Fix: run `make build`/);
      expect(() => fresh.decodePixels(jpg, 'a.jpg')).not.toThrow(DataError);
    } finally {
      vi.unstubAllEnvs();
      vi.resetModules();
    }
  });
});

describe.skipIf(pythonMissing !== null)('frame recipe against Pillow (decode, crop box, antialiased bilinear resize)', () => {
  // Pillow resizes 8-bit images in fixed point and rounds to 8 bits after each pass; mmgap keeps floats.
  const cases = records([
    'src = jpeg(Image.fromarray(scene(340, 256)), quality=90)',
    'for S in (224, 112):',
    '    im = Image.open(io.BytesIO(src)).convert("RGB").crop((42, 0, 298, 256)).resize((S, S), Image.BILINEAR)',
    "    rec(f'eval{S}', src, np.asarray(im, dtype=np.uint8).tobytes())",
  ].join('\n'));

  function ours(bytes: Uint8Array, size: number, decodeScaling: boolean): Float32Array {
    const out = new Float32Array(3 * size * size);
    renderImage(bytes, 'f.jpg', { size, rng: null, decodeScaling }, out, 0);
    return out;
  }

  /** Mean and max |ours - Pillow| in 8-bit units, undoing the ImageNet normalisation. */
  function deviation(got: Float32Array, want: Uint8Array, size: number): { mean: number; max: number } {
    const plane = size * size;
    let sum = 0, max = 0;
    for (let c = 0; c < 3; c++) {
      for (let i = 0; i < plane; i++) {
        const v = (got[c * plane + i] * IMAGENET_STD[c] + IMAGENET_MEAN[c]) * 255;
        const d = Math.abs(v - want[i * 3 + c]);
        sum += d;
        max = Math.max(max, d);
      }
    }
    return { mean: sum / (3 * plane), max };
  }

  it('at full-size decode, within Pillow\'s 8-bit rounding', () => {
    for (const size of [224, 112]) {
      const [bytes, want] = cases.get(`eval${size}`)!;
      const dev = deviation(ours(bytes, size, false), want, size);
      expect(dev.max, `size ${size}`).toBeLessThan(1.05);
      expect(dev.mean, `size ${size}`).toBeLessThan(0.5);
    }
  });

  it('with DCT scaling (256 px decoded as 128 for 112), within 2/255 mean of Pillow\'s full-size decode on a noisy scene', () => {
    const [bytes, want] = cases.get('eval112')!;
    expect(decodeScaleFor({ x: 42, y: 0, width: 256, height: 256 }, 112)).toBe(2);
    expect(decodeScaleFor({ x: 42, y: 0, width: 256, height: 256 }, 224)).toBe(1);
    expect(decodeScaleFor({ x: 0, y: 0, width: 900, height: 1000 }, 112)).toBe(8);
    expect(decodeScaleFor({ x: 0, y: 0, width: 895, height: 1000 }, 112)).toBe(4);
    const dev = deviation(ours(bytes, 112, true), want, 112);
    // a different low-pass (the DCT's, then a milder bilinear one) than Pillow's full-size path:
    // measured 1.14 mean, 20 max on this scene of per-pixel noise
    expect(dev.mean).toBeGreaterThan(0.5);
    expect(dev.mean).toBeLessThan(2);
    expect(dev.max).toBeLessThan(32);
  });
});
