/** `mmgap data inspect`: a dataset's splits, shapes, class counts and corruption ground truth. */
import { openDataset } from './open.js';
import { modalityKind, SPLITS, type Dataset, type LengthPolicy, type ModalityKind, type OpenOptions, type Split } from './types.js';

/** What `inspectDataset` reports (the JSON printed as the last line). */
export interface InspectReport {
  dataset: string;
  spec: string;
  recipe: string;
  train: number;
  val: number;
  test: number;
  classes: string[];
  /**
   * Per modality: its kind, the batched shape, and for sequences and frames the distribution of
   * steps per sample over the whole dataset and the policy that fits them to the batch.
   */
  modalities: {
    name: string;
    kind: ModalityKind;
    shape: number[];
    augmented: boolean;
    length: { min: number; median: number; max: number } | null;
    length_policy: LengthPolicy | null;
    /**
     * What the modality's encoder holds per training batch (`mmgap data inspect` adds it; rough,
     * see src/models/activation-estimate.ts): the first layer's output `shape` (`axes`) at the
     * batch size and padded length, its fp32 `layer_bytes`, and `bytes`, the activations kept
     * per layer.
     */
    activations?: { batch_size: number; encoder: string; shape: number[]; axes: string; layer_bytes: number; bytes: number };
  }[];
  /** Per split, samples per class name. */
  class_counts: Record<Split, Record<string, number>>;
  /** Corrupted samples over all splits / all samples. */
  corrupted_fraction: number;
  corrupted: Record<Split, { fraction: number; kinds: Record<string, number> }>;
  skipped: number;
  skipped_samples: { id: string; split: Split | null; file: string; line?: number; reason: string }[];
}

/** Summarises an opened dataset. */
export function describeDataset(ds: Dataset): InspectReport {
  const counts = {} as InspectReport['class_counts'];
  const corrupted = {} as InspectReport['corrupted'];
  let total = 0;
  let bad = 0;
  for (const split of SPLITS) {
    const samples = ds.samples(split);
    counts[split] = Object.fromEntries(ds.classes.map((c) => [c, 0]));
    const kinds: Record<string, number> = {};
    let n = 0;
    for (const s of samples) {
      counts[split][ds.classes[s.label]]++;
      if (s.corruption) {
        const k = `${s.corruption.modality}:${s.corruption.kind}`;
        kinds[k] = (kinds[k] ?? 0) + 1;
        n++;
      }
    }
    corrupted[split] = { fraction: samples.length ? n / samples.length : 0, kinds };
    total += samples.length;
    bad += n;
  }
  return {
    dataset: ds.name,
    spec: ds.source.spec,
    recipe: ds.recipe,
    train: ds.samples('train').length,
    val: ds.samples('val').length,
    test: ds.samples('test').length,
    classes: ds.classes,
    modalities: ds.modalities.map((m) => {
      const kind = modalityKind(m.shape);
      const stepped = kind === 'sequence' || kind === 'frames';
      const fixed = { min: m.shape[0]!, median: m.shape[0]!, max: m.shape[0]! };
      return { name: m.name, kind, shape: m.shape, augmented: m.augmented, length: stepped ? (m.lengths ?? fixed) : null, length_policy: m.length ?? null };
    }),
    class_counts: counts,
    corrupted_fraction: total ? bad / total : 0,
    corrupted,
    skipped: ds.skipped.length,
    skipped_samples: ds.skipped,
  };
}

function lengthText(m: InspectReport['modalities'][number]): string {
  if (!m.length) return '';
  const l = m.length;
  const steps = l.min === l.max ? `; ${l.max} steps per sample` : `; steps per sample: min ${l.min}, median ${l.median}, max ${l.max}`;
  const p = m.length_policy;
  if (!p) return steps;
  const fit = p.crop === 'uniform'
    ? `spread over each sample: one step per segment, random in training, the segment's centre in evaluation; shorter ones repeat steps`
    : `longer cropped: ${p.crop} in training, centre in evaluation; shorter zero-padded${p.mask ? ', padding masked' : ', padding not masked'}`;
  return `${steps}; batched as ${p.steps} steps (${fit})`;
}

/** Bytes as "3.1 GB" or "45 MB". */
function size(bytes: number): string {
  return bytes >= 1e8 ? `${(bytes / 1e9).toFixed(1)} GB` : `${Math.max(1, Math.round(bytes / 1e6))} MB`;
}

function activationText(m: InspectReport['modalities'][number]): string[] {
  const a = m.activations;
  if (!a) return [];
  return [`  batch ${a.shape.join(' x ')} (${a.axes}, ${a.encoder}'s first layer): ~${size(a.bytes)} of activations per layer in training`];
}

/** Human-readable lines, then the report as one JSON object on the last line. */
export function formatReport(r: InspectReport): string {
  const lines = [
    `dataset ${r.dataset} (${r.spec})`,
    `samples: train ${r.train}, val ${r.val}, test ${r.test}; ${r.classes.length} classes`,
    ...r.modalities.flatMap((m) => [`modality ${m.name}: ${m.kind} [${m.shape.join(', ')}]${m.augmented ? ' (augmented in training)' : ''}${lengthText(m)}`, ...activationText(m)]),
    `corrupted: ${(100 * r.corrupted_fraction).toFixed(1)} % overall; ${SPLITS.map((s) => `${s} ${(100 * r.corrupted[s].fraction).toFixed(1)} %`).join(', ')}`,
    `skipped: ${r.skipped}`,
    ...r.skipped_samples.map((s) => `  ${s.file}${s.line === undefined ? '' : `:${s.line}`}: ${s.reason}`),
    JSON.stringify(r),
  ];
  return lines.join('\n');
}

/** Opens a dataset and returns its report; print it with `formatReport` (last line is the JSON). */
export async function inspectDataset(spec: string, options: OpenOptions = {}): Promise<InspectReport> {
  return describeDataset(await openDataset(spec, options));
}
