/**
 * Predictions files: the per-modality outputs of a model trained anywhere, read and checked so
 * that mmgap's own diagnosis (src/train/diagnostics.ts) can run on them without training or
 * libtorch. Two forms carry the same content:
 * - .npz (np.savez or np.savez_compressed): `labels` [N] integers, optional `ids` [N] (strings or
 *   integers), optional `corrupted` [N] (0/1 or bool), and one [N, K] array per modality, named
 *   after it, in the order the gap reads them (d = first - second for two modalities).
 * - .csv: header `id,label[,corrupted],<modality>:0,...,<modality>:K-1,...`, one row per sample.
 * Scores are probabilities or logits (`scores`: 'auto' takes a modality whose rows are all
 * non-negative and sum to 1 within PROBABILITY_SUM_TOLERANCE as probabilities, else as logits).
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { DataError } from '../data/errors.js';
import { readNpy, readNpyStrings } from '../data/io/npy.js';
import { isZip, readNpz } from '../data/io/npz.js';
import { splitCsvLine } from '../report/gaps-csv.js';
import { settings, type Values } from '../settings.js';
import { PURIFY_SETTINGS, RUN_SETTINGS } from '../train/config.js';

/** How far a probability row's sum may be from 1 (float32 softmax outputs of many classes drift by ~1e-6). */
export const PROBABILITY_SUM_TOLERANCE = 1e-3;

/** Options of a predictions diagnosis; the GMM's space and seed are the run settings' own declarations. */
export const PREDICTIONS_SETTINGS = settings({
  scores: {
    type: 'choice', choices: ['auto', 'probs', 'logits'], default: 'auto',
    help: 'what the per-modality arrays hold: probabilities, logits (softmax taken here, in float64), or auto (rows non-negative summing to 1 are probabilities)',
  },
  gmmOn: PURIFY_SETTINGS.gmmOn,
  diagnoseGaps: RUN_SETTINGS.diagnoseGaps,
  seed: RUN_SETTINGS.seed,
});
export type PredictionsOptions = Values<typeof PREDICTIONS_SETTINGS>;

export type ScoreKind = 'probs' | 'logits';

/** A checked predictions file: every modality as float64 softmax probabilities. */
export interface Predictions {
  file: string;
  ids: string[];
  labels: Int32Array;
  /** 0/1 per sample; all 0 when the file has no corruption flags (`hasCorrupted` false). */
  corrupted: Uint8Array;
  hasCorrupted: boolean;
  /** In the file's order; the first two give the sign of the gap. */
  modalities: string[];
  numClasses: number;
  /** Row-major N x K probabilities per modality. */
  unimodal: Record<string, Float64Array>;
  /** How each modality's scores were read. */
  scores: Record<string, ScoreKind>;
}

/** The content of either file form, before the checks every form shares. */
interface RawPredictions {
  ids: string[] | null;
  labels: ArrayLike<number>;
  corrupted: ArrayLike<number> | null;
  modalities: { name: string; shape: number[]; data: ArrayLike<number> }[];
  /** Names sample i in messages: its row, and its id when known. */
  where(i: number, id: string | undefined): string;
}

const RESERVED = new Set(['labels', 'ids', 'corrupted']);

function npzPredictions(bytes: Uint8Array, file: string): RawPredictions {
  const members = readNpz(bytes, file);
  const member = (name: string): string => `${file} (array ${name})`;
  const labelBytes = members.get('labels');
  if (!labelBytes) {
    throw new DataError(file, `has no "labels" array (it has: ${[...members.keys()].join(', ') || 'none'}); save the true classes as np.savez(..., labels=y)`);
  }
  const labels = readNpy(labelBytes, member('labels'));
  if (labels.shape.length !== 1) throw new DataError(member('labels'), `has shape [${labels.shape.join(', ')}]; expected [N], one integer class per sample`);
  const idBytes = members.get('ids');
  const corruptedBytes = members.get('corrupted');
  const corrupted = corruptedBytes ? readNpy(corruptedBytes, member('corrupted')) : null;
  if (corrupted && corrupted.shape.length !== 1) throw new DataError(member('corrupted'), `has shape [${corrupted.shape.join(', ')}]; expected [N] flags (0/1 or bool)`);
  const modalities = [...members].filter(([name]) => !RESERVED.has(name)).map(([name, b]) => ({ name, ...readNpy(b, member(name)) }));
  return {
    ids: idBytes ? readNpyStrings(idBytes, member('ids')) : null,
    labels: labels.data,
    corrupted: corrupted?.data ?? null,
    modalities,
    where: (i, id) => (id === undefined ? `row ${i}` : `sample "${id}" (row ${i})`),
  };
}

/** Parses a CSV number; an empty field is missing, not 0. */
function csvNumber(field: string | undefined): number {
  return field === undefined || field.trim() === '' ? Number.NaN : Number(field);
}

function csvPredictions(text: string, file: string): RawPredictions {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const header = splitCsvLine(lines[0] ?? '').map((h) => h.trim());
  const expected = 'expected the header id,label[,corrupted],<modality>:0,...,<modality>:K-1 for each modality';
  if (header[0] !== 'id' || header[1] !== 'label') throw new DataError(file, `header starts "${header.slice(0, 2).join(',')}"; ${expected}`, 1);
  const hasCorrupted = header[2] === 'corrupted';
  const first = hasCorrupted ? 3 : 2;
  const columns = new Map<string, number[]>();
  for (let c = first; c < header.length; c++) {
    const m = /^(.+):(\d+)$/.exec(header[c]);
    if (!m) throw new DataError(file, `column "${header[c]}" is not <modality>:<class>; ${expected}`, 1);
    const cols = columns.get(m[1]) ?? [];
    if (Number(m[2]) !== cols.length) throw new DataError(file, `column "${header[c]}" is out of order: the classes of "${m[1]}" must run 0, 1, ... K-1 in adjacent columns`, 1);
    cols.push(c);
    columns.set(m[1], cols);
  }
  const rows = lines.slice(1).map((line, r) => {
    const f = splitCsvLine(line);
    if (f.length !== header.length) throw new DataError(file, `has ${f.length} fields, the header ${header.length}`, r + 2);
    return f;
  });
  const n = rows.length;
  return {
    ids: rows.map((f) => f[0]),
    labels: rows.map((f) => csvNumber(f[1])),
    corrupted: hasCorrupted ? rows.map((f) => ({ true: 1, false: 0, True: 1, False: 0 })[f[2]] ?? csvNumber(f[2])) : null,
    modalities: [...columns].map(([name, cols]) => {
      const data = new Float64Array(n * cols.length);
      rows.forEach((f, i) => cols.forEach((c, k) => (data[i * cols.length + k] = csvNumber(f[c]))));
      return { name, shape: [n, cols.length], data };
    }),
    where: (i, id) => `line ${i + 2} (sample "${id}")`,
  };
}

/** Softmax of row-major N x K logits, in float64 with the row maximum subtracted. */
function softmaxRows(logits: ArrayLike<number>, n: number, k: number): Float64Array {
  const out = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    let max = -Infinity;
    for (let c = 0; c < k; c++) max = Math.max(max, logits[i * k + c]);
    let sum = 0;
    for (let c = 0; c < k; c++) sum += out[i * k + c] = Math.exp(logits[i * k + c] - max);
    for (let c = 0; c < k; c++) out[i * k + c] /= sum;
  }
  return out;
}

/** The first row that is not a probability row (a negative entry, or a sum off 1), with why; null when every row is one. */
function firstNonProbabilityRow(data: ArrayLike<number>, n: number, k: number): { row: number; why: string } | null {
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (let c = 0; c < k; c++) {
      const p = data[i * k + c];
      if (p < 0) return { row: i, why: `score ${p} of class ${c} is negative` };
      sum += p;
    }
    if (Math.abs(sum - 1) > PROBABILITY_SUM_TOLERANCE) return { row: i, why: `scores sum to ${sum.toPrecision(6)}, not 1 (tolerance ${PROBABILITY_SUM_TOLERANCE})` };
  }
  return null;
}

/** The checks every form shares; a message names the file, the sample and the fix. */
function checked(raw: RawPredictions, file: string, scores: PredictionsOptions['scores']): Predictions {
  const n = raw.labels.length;
  const ids = raw.ids ?? Array.from({ length: n }, (_, i) => String(i));
  const at = (i: number): string => raw.where(i, raw.ids ? ids[i] : undefined);
  if (n < 2) throw new DataError(file, `holds ${n} sample${n === 1 ? '' : 's'}; a GMM needs at least 2 (one row per sample)`);
  if (ids.length !== n) throw new DataError(file, `has ${ids.length} ids but ${n} labels; save one id per sample`);
  const seen = new Map<string, number>();
  ids.forEach((id, i) => {
    const before = seen.get(id);
    if (before !== undefined) throw new DataError(file, `${at(i)}: id "${id}" repeats row ${before}; ids must be unique`);
    seen.set(id, i);
  });
  if (raw.modalities.length < 2) {
    const have = raw.modalities.map((m) => `"${m.name}"`).join(', ') || 'none';
    throw new DataError(file, `has ${raw.modalities.length} modality array${raw.modalities.length === 1 ? '' : 's'} (${have}); the gap compares 2 or more: save one [N, K] array of scores per modality, named after it`);
  }
  const [reference] = raw.modalities;
  for (const m of raw.modalities) {
    if (m.shape.length !== 2) throw new DataError(file, `modality "${m.name}" has shape [${m.shape.join(', ')}]; expected [N, K] scores (N samples, K classes)`);
    if (m.shape[0] !== n || m.shape[1] !== reference.shape[1]) {
      throw new DataError(file, `modality "${m.name}" has shape [${m.shape.join(', ')}] but "${reference.name}" has [${reference.shape.join(', ')}] and there are ${n} labels; every modality needs [N, K] with N = ${n}, the same K`);
    }
  }
  const k = reference.shape[1];
  if (k < 2) throw new DataError(file, `modality "${reference.name}" has ${k} class column; a classifier's scores need K >= 2`);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const y = raw.labels[i];
    if (!Number.isInteger(y) || y < 0 || y >= k) {
      throw new DataError(file, `${at(i)}: label ${y} is not a class index in [0, ${k}) (K = ${k} score columns); labels must be 0-based integers`);
    }
    labels[i] = y;
  }
  const corrupted = new Uint8Array(n);
  if (raw.corrupted) {
    if (raw.corrupted.length !== n) throw new DataError(file, `has ${raw.corrupted.length} corrupted flags but ${n} labels; save one flag per sample`);
    for (let i = 0; i < n; i++) {
      const c = raw.corrupted[i];
      if (c !== 0 && c !== 1) throw new DataError(file, `${at(i)}: corrupted flag ${c} is not 0 or 1`);
      corrupted[i] = c;
    }
  }
  const unimodal: Record<string, Float64Array> = {};
  const kinds: Record<string, ScoreKind> = {};
  for (const m of raw.modalities) {
    for (let j = 0; j < m.data.length; j++) {
      if (!Number.isFinite(m.data[j])) {
        const i = Math.floor(j / k);
        throw new DataError(file, `${at(i)}: modality "${m.name}" has score ${m.data[j]} for class ${j % k}; every score must be finite (check the model's outputs for this sample)`);
      }
    }
    const off = firstNonProbabilityRow(m.data, n, k);
    if (scores === 'probs' && off) {
      throw new DataError(file, `${at(off.row)}: modality "${m.name}": ${off.why}; these are not probabilities: pass --scores logits (or auto), or save softmax outputs`);
    }
    kinds[m.name] = scores === 'logits' || (scores === 'auto' && off) ? 'logits' : 'probs';
    unimodal[m.name] = kinds[m.name] === 'logits' ? softmaxRows(m.data, n, k) : Float64Array.from(m.data);
  }
  return {
    file, ids, labels, corrupted, hasCorrupted: raw.corrupted !== null,
    modalities: raw.modalities.map((m) => m.name), numClasses: k, unimodal, scores: kinds,
  };
}

/** Reads and checks a predictions file (.npz by its zip signature, .csv by its extension). */
export async function readPredictions(file: string, scores: PredictionsOptions['scores']): Promise<Predictions> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (e) {
    throw new DataError(file, `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); check the --predictions path`);
  }
  if (isZip(bytes)) return checked(npzPredictions(bytes, file), file, scores);
  if (extname(file).toLowerCase() === '.csv') return checked(csvPredictions(new TextDecoder('utf-8').decode(bytes), file), file, scores);
  throw new DataError(file, 'is neither an .npz archive (np.savez / np.savez_compressed) nor a .csv file; see `mmgap diagnose --help` for both formats');
}
