import { describe, expect, it } from 'vitest';
import { readNpy, writeNpy } from '../../../src/data/io/npy.js';
import { pythonBytes, pythonMissing } from '../helpers/python.js';

describe('npy', () => {
  it('round-trips float32, float64, int32, uint8 in C order', () => {
    for (const data of [Float32Array.of(1.5, -2, 3, 4, 5, 6), Float64Array.of(1e-300, 2, 3, 4, 5, 6), Int32Array.of(-7, 0, 7, 1, 2, 3), Uint8Array.of(0, 1, 2, 253, 254, 255)]) {
      const a = readNpy(writeNpy(data, [2, 3]), 'x.npy');
      expect(a.shape).toEqual([2, 3]);
      expect(a.data.constructor).toBe(data.constructor);
      expect([...a.data]).toEqual([...data]);
    }
    const one = readNpy(writeNpy(Float32Array.of(1, 2), [2]), 'x.npy');
    expect(one.shape).toEqual([2]);
    const scalar = readNpy(writeNpy(Float32Array.of(9), []), 'x.npy');
    expect(scalar.shape).toEqual([]);
    expect([...scalar.data]).toEqual([9]);
  });

  it('pads the header to a multiple of 64 bytes', () => {
    const bytes = writeNpy(new Float32Array(6), [2, 3]);
    const headerLen = new DataView(bytes.buffer).getUint16(8, true);
    expect((10 + headerLen) % 64).toBe(0);
  });

  it('reports truncated and malformed files by name', () => {
    const bytes = writeNpy(new Float32Array(6), [2, 3]);
    expect(() => readNpy(bytes.subarray(0, bytes.length - 4), 'cut.npy')).toThrow(/^cut\.npy: array data is truncated/);
    expect(() => readNpy(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11), 'bad.npy')).toThrow(/bad\.npy: not a \.npy file/);
  });

  it.skipIf(pythonMissing !== null)('reads what numpy writes: versions 1-3, all dtypes, big-endian, Fortran order', () => {
    const cases: [string, string][] = [
      ["np.arange(24, dtype='<f4').reshape(2, 3, 4)", 'f4'],
      ["np.arange(24, dtype='>f8').reshape(2, 3, 4) / 7", 'f8'],
      ["np.arange(-12, 12, dtype='i1').reshape(2, 3, 4)", 'i1'],
      ["np.arange(-12, 12, dtype='>i2').reshape(2, 3, 4) * 1000", 'i2'],
      ["np.arange(-12, 12, dtype='i4').reshape(2, 3, 4) * 100000", 'i4'],
      ["np.arange(-12, 12, dtype='i8').reshape(2, 3, 4) * 2**40", 'i8'],
      ["np.arange(24, dtype='u1').reshape(2, 3, 4) * 10", 'u1'],
      ["np.arange(24, dtype='u2').reshape(2, 3, 4) * 2000", 'u2'],
      ["np.arange(24, dtype='u4').reshape(2, 3, 4) * 100000", 'u4'],
      ["np.arange(24, dtype='u8').reshape(2, 3, 4)", 'u8'],
      ["np.asfortranarray(np.arange(24, dtype='f4').reshape(2, 3, 4))", 'f4'],
    ];
    for (const [expr, dtype] of cases) {
      for (const version of ['(1, 0)', '(2, 0)', '(3, 0)']) {
        const bytes = pythonBytes(
          `import io, numpy as np\nfrom numpy.lib import format as f\na = ${expr}\nb = io.BytesIO()\nf.write_array(b, a, version=${version})\nout = b.getvalue() + (a.ravel(order='C').astype('<f8').tobytes())`,
        );
        // the expected C-order values follow the .npy payload as float64
        const arr = readNpy(bytes.subarray(0, bytes.length - 24 * 8), `${dtype}.npy`);
        const expected = new Float64Array(bytes.slice(bytes.length - 24 * 8).buffer);
        expect(arr.dtype).toBe(dtype);
        expect(arr.shape).toEqual([2, 3, 4]);
        expect([...arr.data]).toEqual([...expected]);
      }
    }
  });
});
