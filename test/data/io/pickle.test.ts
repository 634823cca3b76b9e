import { describe, expect, it } from 'vitest';
import { readPickledArray } from '../../../src/data/io/pickle.js';
import { pythonBytes, pythonMissing } from '../helpers/python.js';

const py = describe.skipIf(pythonMissing !== null);

py('readPickledArray on pickles written by /usr/bin/python3', () => {
  for (const protocol of [2, 3, 4, 5]) {
    for (const [expr, dtype] of [
      ["(np.arange(257 * 40, dtype='f4').reshape(257, 40) / 3 - 100)", 'f4'],
      ["np.arange(12, dtype='>f8').reshape(3, 4) / 7", 'f8'],
      ["np.asfortranarray(np.arange(12, dtype='f4').reshape(3, 4))", 'f4'],
      ["np.arange(12, dtype='u1').reshape(3, 4)", 'u1'],
      ["np.arange(-6, 6, dtype='i8').reshape(3, 4) * 3", 'i8'],
    ] as const) {
      it(`protocol ${protocol}: ${expr}`, () => {
        const bytes = pythonBytes(
          `import pickle, numpy as np\na = ${expr}\np = pickle.dumps(a, protocol=${protocol})\nref = np.ascontiguousarray(a).astype('<f8').tobytes()\nout = len(p).to_bytes(4, 'little') + p + ref`,
        );
        const n = new DataView(bytes.buffer).getUint32(0, true);
        const arr = readPickledArray(bytes.subarray(4, 4 + n), 'a.pkl');
        const expected = new Float64Array(bytes.slice(4 + n).buffer);
        expect(arr.dtype).toBe(dtype);
        expect(arr.shape.reduce((a, b) => a * b, 1)).toBe(expected.length);
        expect([...arr.data]).toEqual([...expected]);
      });
    }
  }

  it('rejects a pickle of another object with a conversion hint', () => {
    const bytes = pythonBytes("import pickle, collections\nout = pickle.dumps(collections.OrderedDict(a=1), protocol=4)");
    expect(() => readPickledArray(bytes, 'od.pkl')).toThrow(/^od\.pkl: unsupported global collections\.OrderedDict.*np\.save/);
    const list = pythonBytes('import pickle\nout = pickle.dumps([1, 2.5, "x"], protocol=3)');
    expect(() => readPickledArray(list, 'l.pkl')).toThrow(/l\.pkl: the pickle does not hold a numpy array/);
  });

  it('rejects a truncated pickle, naming the file', () => {
    const bytes = pythonBytes('import pickle, numpy as np\nout = pickle.dumps(np.zeros((4, 4), "f4"), protocol=4)');
    expect(() => readPickledArray(bytes.subarray(0, bytes.length - 20), 'cut.pkl')).toThrow(/^cut\.pkl: truncated pickle/);
  });
});
