/**
 * Modalities stored as one .npy array per sample (the folder format's `<modality>/<id>.npy`):
 * their kind read from the arrays (or declared), their lengths, and the length policy that
 * brings a varying number of steps to the batch's fixed one.
 *
 *   [D]           vector
 *   [T, D]        sequence (declare `kind=image` for a fixed [H, W] image)
 *   [C, H, W]     image, when every sample has the same shape and C is 1 or 3; else frames [T, H, W]
 *   [T, C, H, W]  frames
 *
 * Options per modality, as `--data-opt <modality>.<key>=<value>` or nested in a config file
 * (`dataOptions: {audio: {length: 64}}`): kind, length (`max`, the default: pad to the longest
 * sample; or a number of steps: crop or pad to it), crop (how a longer sample's steps are chosen,
 * STEP_CHOICES: `random`, the default, `centre`, or `uniform`: spread over the whole sample), mask
 * (true, the default: padded steps are masked out of the encoder; false: they are zeros the
 * encoder sees).
 */
import { readFile } from 'node:fs/promises';
import { DataError, SKIP_HINT } from '../errors.js';
import { toFloat32 } from '../io/ndarray.js';
import { readNpy, readNpyShape } from '../io/npy.js';
import { MODALITY_KINDS, STEP_CHOICES, type LengthPolicy, type ModalityKind, type ModalitySpec, type OpenOptions } from '../types.js';

/** The per-modality option keys, with what each accepts. */
const MODALITY_OPTIONS: Record<string, string> = {
  kind: MODALITY_KINDS.join(' | '),
  length: '"max" or a number of steps >= 1',
  crop: Object.keys(STEP_CHOICES).join(' | '),
  mask: 'true | false',
};

/** A modality's own options: `<name>.<key>` entries and a nested `<name>: {...}` object, checked. */
export function modalityOptions(options: OpenOptions, name: string, dir: string): Record<string, unknown> {
  const nested = options[name];
  const out: Record<string, unknown> = typeof nested === 'object' && nested !== null && !Array.isArray(nested) ? { ...(nested as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(options)) if (k.startsWith(`${name}.`)) out[k.slice(name.length + 1)] = v;
  for (const k of Object.keys(out)) {
    if (!(k in MODALITY_OPTIONS)) {
      throw new DataError(dir, `unknown option "${name}.${k}" (known: ${Object.keys(MODALITY_OPTIONS).map((o) => `${name}.${o}`).join(', ')})`);
    }
  }
  const bad = (k: string): never => {
    throw new DataError(dir, `option ${name}.${k} must be ${MODALITY_OPTIONS[k]}, got ${JSON.stringify(out[k])}`);
  };
  if (out.kind !== undefined && !(MODALITY_KINDS as readonly unknown[]).includes(out.kind)) bad('kind');
  if (out.length !== undefined && out.length !== 'max' && !(Number.isInteger(out.length) && (out.length as number) >= 1)) bad('length');
  if (out.crop !== undefined && !(typeof out.crop === 'string' && Object.hasOwn(STEP_CHOICES, out.crop))) bad('crop');
  if (out.mask !== undefined && typeof out.mask !== 'boolean') bad('mask');
  return out;
}

/** What a stored-array modality needs to load one sample. */
export interface StoredArrayModality {
  spec: ModalitySpec;
  /** Values per step (sequences and frames) or per sample (vectors, images). */
  stepSize: number;
  /** The shape every stored array must have past its first axis (sequences, frames) or in full (vectors, images), as stored. */
  storedRest: number[];
  /** Whether the first stored axis is the step axis (it may vary). */
  stepped: boolean;
}

const fmt = (shape: readonly number[]): string => `[${shape.join(', ')}]`;

/** The kind of a modality's arrays: the declared one, checked against their rank, or the one read off them. */
function kindOf(name: string, declared: ModalityKind | undefined, shapes: { file: string; shape: number[] }[]): ModalityKind {
  const first = shapes[0]!;
  const rank = first.shape.length;
  const other = shapes.find((s) => s.shape.length !== rank);
  if (other) throw new DataError(other.file, `has ${other.shape.length} dimensions ${fmt(other.shape)}, but ${first.file} has ${rank} ${fmt(first.shape)}; every "${name}" array needs the same rank`);
  const ranks: Record<ModalityKind, number[]> = { vector: [1], sequence: [2], image: [2, 3], frames: [3, 4] };
  if (declared) {
    if (!ranks[declared].includes(rank)) {
      const want = { vector: '[D]', sequence: '[T, D]', image: '[H, W] or [C, H, W]', frames: '[T, H, W] or [T, C, H, W]' }[declared];
      const fits = MODALITY_KINDS.filter((k) => ranks[k].includes(rank));
      throw new DataError(first.file, `is a ${rank}-D array ${fmt(first.shape)} but modality "${name}" is declared ${declared}, which takes ${want}; ` +
        `declare it ${fits.join(' or ')} (--data-opt ${name}.kind=${fits[0]}) or store ${want} arrays`);
    }
    return declared;
  }
  if (rank === 1) return 'vector';
  if (rank === 2) return 'sequence';
  if (rank === 4) return 'frames';
  if (rank === 3) {
    const same = shapes.every((s) => s.shape.every((d, i) => d === first.shape[i]));
    return same && (first.shape[0] === 1 || first.shape[0] === 3) ? 'image' : 'frames';
  }
  throw new DataError(first.file, `is a ${rank}-D array ${fmt(first.shape)}; modalities are [D], [T, D], [C, H, W] or [T, C, H, W] arrays`);
}

function median(sorted: number[]): number {
  const n = sorted.length;
  return n % 2 ? sorted[(n - 1) / 2]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
}

/**
 * Reads every sample's array header and describes the modality. Arrays that are absent or
 * unreadable are left to the sample checks (`shapes` holds only the readable ones).
 */
export async function describeStoredArrays(name: string, dir: string, files: string[], options: OpenOptions): Promise<StoredArrayModality> {
  const opts = modalityOptions(options, name, dir);
  const shapes: { file: string; shape: number[] }[] = [];
  const BATCH = 64; // headers are read a few dozen at a time: many small reads, bounded open files
  for (let i = 0; i < files.length; i += BATCH) {
    const part = await Promise.all(files.slice(i, i + BATCH).map(async (file) => ({ file, shape: await readNpyShape(file).catch(() => null) })));
    for (const p of part) if (p.shape) shapes.push({ file: p.file, shape: p.shape });
  }
  if (shapes.length === 0) throw new DataError(dir, `no readable .npy array for modality "${name}"`);
  const kind = kindOf(name, opts.kind as ModalityKind | undefined, shapes);
  const first = shapes[0]!;
  const stepped = kind === 'sequence' || kind === 'frames';
  // Canonical shapes: a [H, W] image is [1, H, W], [T, H, W] frames are [T, 1, H, W].
  const single = (kind === 'image' && first.shape.length === 2) || (kind === 'frames' && first.shape.length === 3);
  const storedRest = stepped ? first.shape.slice(1) : first.shape;
  for (const s of shapes) {
    const rest = stepped ? s.shape.slice(1) : s.shape;
    if (rest.some((d, i) => d !== storedRest[i])) {
      const what = stepped ? `steps of ${fmt(storedRest)}` : `the shape ${fmt(storedRest)}`;
      throw new DataError(s.file, `has shape ${fmt(s.shape)}, but ${first.file} has ${fmt(first.shape)}: every "${name}" ${kind} needs ${what}` +
        (stepped ? ' (only the number of steps may vary)' : ''));
    }
  }
  const rest = single ? [1, ...storedRest] : storedRest;
  const stepSize = rest.reduce((a, b) => a * b, 1);
  if (!stepped) {
    for (const k of ['length', 'crop', 'mask']) if (opts[k] !== undefined) throw new DataError(dir, `option ${name}.${k} applies to sequences and frames, and "${name}" is ${kind === 'image' ? 'an' : 'a'} ${kind}`);
    return { spec: { name, shape: single ? [1, ...first.shape] : first.shape, augmented: false, raw: true }, stepSize, storedRest, stepped };
  }
  const steps = shapes.map((s) => s.shape[0]!).sort((a, b) => a - b);
  const lengths = { min: steps[0]!, median: median(steps), max: steps[steps.length - 1]! };
  if (lengths.min === 0) throw new DataError(shapes.find((s) => s.shape[0] === 0)!.file, `has no steps ${fmt(shapes.find((s) => s.shape[0] === 0)!.shape)}; ${SKIP_HINT}`);
  const fixed = opts.length === undefined || opts.length === 'max' ? lengths.max : (opts.length as number);
  const varies = lengths.min !== lengths.max || fixed !== lengths.max;
  const length: LengthPolicy | undefined = varies
    ? { steps: fixed, crop: (opts.crop as LengthPolicy['crop'] | undefined) ?? 'random', mask: (opts.mask as boolean | undefined) ?? true }
    : undefined;
  return {
    spec: { name, shape: [fixed, ...rest], augmented: false, raw: true, lengths, ...(length && { length }) },
    stepSize, storedRest, stepped,
  };
}

/** One sample's array, checked (shape, finite values) and flattened to float32; T_i steps for a stepped modality. */
export async function loadStoredArray(m: StoredArrayModality, file: string, id: string): Promise<Float32Array> {
  const bytes = await readFile(file).catch(() => {
    throw new DataError(file, `array of sample "${id}" is missing or unreadable; ${SKIP_HINT}`);
  });
  const arr = readNpy(bytes, file);
  const rest = m.stepped ? arr.shape.slice(1) : arr.shape;
  if (rest.length !== m.storedRest.length || rest.some((d, i) => d !== m.storedRest[i]) || (m.stepped && !(arr.shape[0]! >= 1))) {
    const want = m.stepped ? `[T, ${m.storedRest.join(', ')}]` : fmt(m.storedRest);
    throw new DataError(file, `sample "${id}" has shape ${fmt(arr.shape)}, modality "${m.spec.name}" expects ${want}; ${SKIP_HINT}`);
  }
  const data = toFloat32(arr);
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      const step = m.stepped ? ` (step ${Math.floor(i / m.stepSize)})` : '';
      throw new DataError(file, `sample "${id}" holds ${data[i]} at element ${i}${step}; replace non-finite values in the file, or ${SKIP_HINT}`);
    }
  }
  return data;
}
