import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { DataError } from '../../../src/data/errors.js';
import { decodeImage } from '../../../src/data/image/decode.js';
import { pythonBytes, pythonMissing } from '../helpers/python.js';

function rgba(width: number, height: number): Uint8Array {
  const d = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const at = (y * width + x) * 4;
      d.set([(x * 255) / (width - 1), (y * 255) / (height - 1), 128, 255], at);
    }
  }
  return d;
}

describe('decodeImage', () => {
  it('decodes PNG exactly (RGBA, alpha dropped) into planar RGB in [0, 1]', () => {
    const png = new PNG({ width: 5, height: 4 });
    png.data = Buffer.from(rgba(5, 4));
    const img = decodeImage(PNG.sync.write(png), 'a.png');
    expect([img.channels, img.height, img.width]).toEqual([3, 4, 5]);
    expect(img.data[4]).toBeCloseTo(1, 6); // R at (0, 4)
    expect(img.data[20 + 15]).toBeCloseTo(1, 6); // G at (3, 0)
    expect(img.data[40]).toBeCloseTo(128 / 255, 6);
  });

  it('decodes a JPEG written by jpeg-js close to its source', () => {
    const enc = jpeg.encode({ width: 32, height: 24, data: Buffer.from(rgba(32, 24)) }, 95);
    const img = decodeImage(enc.data, 'a.jpg');
    expect([img.height, img.width]).toEqual([24, 32]);
    const src = rgba(32, 24);
    let err = 0;
    for (let i = 0; i < 32 * 24; i++) err = Math.max(err, Math.abs(img.data[i] - src[i * 4] / 255));
    expect(err).toBeLessThan(0.05);
  });

  it.skipIf(pythonMissing !== null)('matches PIL on a 4:4:4 JPEG and a grayscale JPEG within 3/255 mean abs', () => {
    for (const mode of ['RGB', 'L']) {
      const bytes = pythonBytes(
        [
          'import io, numpy as np',
          'from PIL import Image',
          'y, x = np.mgrid[0:40, 0:56]',
          'a = np.stack([x * 4, y * 6, (x + y) * 2], -1).astype(np.uint8)',
          `im = Image.fromarray(a).convert('${mode}')`,
          "b = io.BytesIO(); im.save(b, 'JPEG', quality=95, subsampling=0)",
          "ref = np.asarray(Image.open(io.BytesIO(b.getvalue())).convert('RGB')).astype(np.float32).transpose(2, 0, 1).ravel() / 255",
          "out = len(b.getvalue()).to_bytes(4, 'little') + b.getvalue() + ref.tobytes()",
        ].join('\n'),
      );
      const n = new DataView(bytes.buffer).getUint32(0, true);
      const img = decodeImage(bytes.subarray(4, 4 + n), 'p.jpg');
      const ref = new Float32Array(bytes.slice(4 + n).buffer);
      let sum = 0;
      for (let i = 0; i < ref.length; i++) sum += Math.abs(img.data[i] - ref[i]);
      expect(sum / ref.length).toBeLessThan(3 / 255);
    }
  });

  it('rejects corrupt and truncated JPEGs and non-images, naming the file', () => {
    const enc = jpeg.encode({ width: 32, height: 24, data: Buffer.from(rgba(32, 24)) }, 90).data;
    const corrupt = Uint8Array.from(enc);
    corrupt.fill(0x00, 20, 200);
    expect(() => decodeImage(corrupt, 'frames/x/00001.jpg')).toThrow(DataError);
    expect(() => decodeImage(corrupt, 'frames/x/00001.jpg')).toThrow(/^frames\/x\/00001\.jpg: corrupt image/);
    expect(() => decodeImage(enc.subarray(0, enc.length / 2), 'cut.jpg')).toThrow(/^cut\.jpg: corrupt image/);
    expect(() => decodeImage(new Uint8Array(50), 'zero.jpg')).toThrow(/^zero\.jpg: not a JPEG or PNG image/);
  });

  // The decoder is one per thread: a file that fails mid-header must not spoil the next file's
  // header (a loader skipping a corrupt frame lost the next, valid one too).
  it('decodes a valid JPEG after a corrupt one as it does before it', () => {
    const enc = jpeg.encode({ width: 32, height: 24, data: Buffer.from(rgba(32, 24)) }, 90).data;
    const before = decodeImage(enc, 'a.jpg');
    expect(() => decodeImage(enc.subarray(0, 300), 'cut.jpg')).toThrow(/^cut\.jpg: corrupt image/);
    const after = decodeImage(enc, 'a.jpg');
    expect([after.width, after.height]).toEqual([32, 24]);
    expect(after.data).toEqual(before.data);
  });
});
