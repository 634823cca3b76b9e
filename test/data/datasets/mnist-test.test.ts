import { createServer } from 'node:http';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { loadMnistTest, locateMnistTest, MNIST_TEST_FILES, MNIST_TEST_URL, readMnistIdx } from '../../../src/data/datasets/mnist-test.js';
import { sharedDir } from '../../helpers/shared.js';
import { put, tempDir } from '../helpers/fixtures.js';

const sharedMnist = resolve(sharedDir, 'data', 'mnist');

/** IDX bytes: big-endian magic and dims, then the data. */
function idx(magic: number, dims: number[], data: Uint8Array): Uint8Array {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head.writeUInt32BE(magic, 0);
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([head, data]);
}

/** A folder holding tiny t10k files; each part can be replaced by raw (already gzipped) bytes. */
function tiny(parts: { images?: Uint8Array; labels?: Uint8Array } = {}): string {
  const dir = tempDir('mnist-idx');
  const pixels = new Uint8Array(3 * 784).map((_, i) => (i * 7) % 256);
  put(join(dir, MNIST_TEST_FILES.images), parts.images ?? gzipSync(idx(2051, [3, 28, 28], pixels)));
  put(join(dir, MNIST_TEST_FILES.labels), parts.labels ?? gzipSync(idx(2049, [3], Uint8Array.of(7, 0, 9))));
  return dir;
}

describe('MNIST t10k reader', () => {
  it('parses IDX: pixels / 255, labels', () => {
    const m = readMnistIdx(tiny());
    expect(m.count).toBe(3);
    expect(m.pixels).toHaveLength(3 * 784);
    expect(m.pixels[785]).toBeCloseTo(((785 * 7) % 256) / 255, 7);
    expect(Math.max(...m.pixels)).toBeLessThanOrEqual(1);
    expect([...m.labels]).toEqual([7, 0, 9]);
  });

  it('bad files give an error naming the file', () => {
    const images = (d: string): string => join(d, MNIST_TEST_FILES.images);
    const labels = (d: string): string => join(d, MNIST_TEST_FILES.labels);
    const px = (n: number): Uint8Array => new Uint8Array(n * 784);
    let d = tiny({ images: gzipSync(idx(2049, [3, 28, 28], px(3))) });
    expect(() => readMnistIdx(d)).toThrow(`${images(d)}: bad IDX magic number 2049 (expected 2051)`);
    d = tiny({ images: gzipSync(idx(2051, [3, 27, 28], new Uint8Array(3 * 27 * 28))) });
    expect(() => readMnistIdx(d)).toThrow(`${images(d)}: IDX dimension 1 is 27 (expected 28)`);
    d = tiny({ images: gzipSync(idx(2051, [3, 28, 28], px(2))) });
    expect(() => readMnistIdx(d)).toThrow(`${images(d)}: 1568 data bytes for dims [3, 28, 28] (expected 2352; truncated or trailing data)`);
    d = tiny({ images: gzipSync(Uint8Array.of(0, 0, 8)) });
    expect(() => readMnistIdx(d)).toThrow(`${images(d)}: truncated IDX header (3 bytes)`);
    const gz = gzipSync(idx(2051, [3, 28, 28], px(3)));
    d = tiny({ images: gz.subarray(0, gz.length >> 1) });
    expect(() => readMnistIdx(d)).toThrow(new RegExp(`^${images(d)}: not a readable gzip file \\(`));
    d = tiny({ labels: idx(2049, [3], Uint8Array.of(1, 2, 3)) }); // not gzipped
    expect(() => readMnistIdx(d)).toThrow(`${labels(d)}: not a readable gzip file`);
    d = tiny({ labels: gzipSync(idx(2049, [2], Uint8Array.of(1, 2))) });
    expect(() => readMnistIdx(d)).toThrow(`${labels(d)}: 2 labels for 3 images in ${images(d)}`);
    d = tiny({ labels: gzipSync(idx(2049, [3], Uint8Array.of(1, 12, 3))) });
    expect(() => readMnistIdx(d)).toThrow(`${labels(d)}: label 12 of item 1 is not a digit`);
  });

  it('the shared t10k files: 10,000 images, the standard class counts and mean pixel', async () => {
    const m = await loadMnistTest({ mnistTestDir: sharedMnist });
    expect(m.count).toBe(10000);
    expect(Array.from({ length: 10 }, (_, d) => m.labels.filter((l) => l === d).length)).toEqual([980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
    let sum = 0;
    for (const p of m.pixels) sum += p;
    expect(Math.abs((255 * sum) / m.pixels.length - 33.79)).toBeLessThan(0.005);
    expect((await loadMnistTest({ mnistTestDir: sharedMnist })) === m).toBe(true); // parsed once per process
  });
});

describe('locating MNIST t10k', () => {
  const env = { MMGAP_MNIST_TEST: process.env.MMGAP_MNIST_TEST, XDG_CACHE_HOME: process.env.XDG_CACHE_HOME };
  const caches: string[] = [];
  const cache = (): string => {
    caches.push(tempDir('cache'));
    return caches[caches.length - 1];
  };
  afterAll(() => {
    for (const dir of caches) rmSync(dir, { recursive: true, force: true });
    for (const [k, v] of Object.entries(env)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  it('finds the shared copy by default; a bad mnistTestDir or MMGAP_MNIST_TEST is an error naming it', async () => {
    delete process.env.MMGAP_MNIST_TEST;
    expect(await locateMnistTest({ download: false })).toBe(sharedMnist);
    await expect(locateMnistTest({ mnistTestDir: '/nonexistent/mnist' })).rejects.toThrow('MNIST test images not found in /nonexistent/mnist (from option mnistTestDir)');
    process.env.MMGAP_MNIST_TEST = '/nonexistent/env';
    await expect(locateMnistTest()).rejects.toThrow('MNIST test images not found in /nonexistent/env (from MMGAP_MNIST_TEST)');
    process.env.MMGAP_MNIST_TEST = sharedMnist;
    expect(await locateMnistTest({ searchShared: false, download: false })).toBe(sharedMnist);
    delete process.env.MMGAP_MNIST_TEST;
  });

  it('without a local copy and without download, the error names MMGAP_MNIST_TEST and the URL', async () => {
    process.env.XDG_CACHE_HOME = cache();
    await expect(locateMnistTest({ download: false, searchShared: false })).rejects.toThrow(
      `MNIST test images not found (set MMGAP_MNIST_TEST to a folder holding t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz, or place them in ../shared/data/mnist), and the download from ${MNIST_TEST_URL} failed: downloading is disabled`,
    );
  });

  it('downloads the two files into the user cache (served locally here), verified and atomically', async () => {
    let wrong = false;
    const requests: string[] = [];
    const server = createServer((req, res) => {
      requests.push(req.url ?? '');
      const name = (req.url ?? '').replace(/^\/mnist\//, '');
      if (!Object.values(MNIST_TEST_FILES).includes(name as never)) {
        res.statusCode = 404;
        res.end();
      } else if (wrong) res.end(gzipSync(idx(2049, [1], Uint8Array.of(3)))); // valid gzip, wrong content
      else res.end(readFileSync(join(sharedMnist, name)));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mnist/`;
    try {
      process.env.XDG_CACHE_HOME = cache();
      const dir = await locateMnistTest({ searchShared: false, mnistTestUrl: url });
      expect(dir).toBe(`${process.env.XDG_CACHE_HOME}/mmgap/mnist`);
      expect(readdirSync(dir).sort()).toEqual([MNIST_TEST_FILES.images, MNIST_TEST_FILES.labels]);
      expect(requests).toEqual(['/mnist/t10k-images-idx3-ubyte.gz', '/mnist/t10k-labels-idx1-ubyte.gz']);
      const got = await loadMnistTest({ searchShared: false, download: false });
      const ref = await loadMnistTest({ mnistTestDir: sharedMnist });
      // (identity and byte comparisons: vitest's toBe/toEqual run a deep equality over 7.8 M floats, for minutes)
      expect(got === ref).toBe(false);
      expect(Buffer.from(got.labels).equals(Buffer.from(ref.labels))).toBe(true);
      expect(Buffer.from(got.pixels.buffer).equals(Buffer.from(ref.pixels.buffer))).toBe(true);
      expect(requests).toHaveLength(2); // the cache is complete: nothing fetched again

      // A mirror serving other content: rejected by the sha256 check, nothing left in the cache.
      wrong = true;
      process.env.XDG_CACHE_HOME = cache();
      await expect(locateMnistTest({ searchShared: false, mnistTestUrl: url })).rejects.toThrow(
        new RegExp(`download from ${url} failed: GET ${url}t10k-images-idx3-ubyte.gz: not MNIST's t10k images \\(sha256 of the decompressed bytes [0-9a-f]{64}, expected 0fa7898d`),
      );
      expect(readdirSync(`${process.env.XDG_CACHE_HOME}/mmgap/mnist`)).toEqual([]);
      await expect(locateMnistTest({ searchShared: false, mnistTestUrl: `${url}missing/` })).rejects.toThrow(`failed: GET ${url}missing/t10k-images-idx3-ubyte.gz: HTTP 404`);
    } finally {
      server.close();
    }
  });
});
