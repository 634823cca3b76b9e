/**
 * The generic format:
 *   <root>/manifest.csv            header "id,label,split"; split is train, val or test;
 *                                  labels are class names (sorted) or integers
 *   <root>/<modality>/<id>.npy     a stored feature array: vector [D], sequence [T, D], image
 *                                  [C, H, W] or [H, W], frames [T, C, H, W] or [T, H, W]; T may
 *                                  vary per sample (stored-arrays.ts: kinds, length policies)
 *   <root>/<modality>/<id>.wav     audio, turned into features by `audioRecipe` (default "ks")
 *   <root>/<modality>/<id>.jpg|png one image -> [3, S, S]
 *   <root>/<modality>/<id>/        a frame folder -> [T, 3, S, S]
 * Every sub-folder of <root> is a modality (at least two); its file type is read from the first
 * sample, and a stored array's kind and lengths from every sample's array header.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AVE_RECIPE, AVE_SHAPE, aveSpectrogram, CREMAD_RECIPE, CREMAD_SHAPE, cremadSpectrogram, FSDD_RECIPE, FSDD_SHAPE, fsddLogMel, KS_RECIPE, KS_SHAPE, ksFbank } from '../audio/recipes.js';
import { DataError } from '../errors.js';
import { frameDecodeSettings, loadFrames, renderImage } from '../image/frames.js';
import { Rng } from '../rng.js';
import { SPLITS, type Dataset, type ModalitySpec, type OpenOptions, type Sample, type Split } from '../types.js';
import { loadAudioItem, type AudioRecipe } from './clip-dataset.js';
import { classList } from './labels.js';
import { describeStoredArrays, loadStoredArray, type StoredArrayModality } from './stored-arrays.js';
import { numberedLines, Problems } from './problems.js';

const AUDIO_RECIPES: Record<string, AudioRecipe> = {
  ks: { shape: KS_SHAPE, recipe: KS_RECIPE, fromWave: ksFbank },
  cremad: { shape: CREMAD_SHAPE, recipe: CREMAD_RECIPE, fromWave: cremadSpectrogram },
  ave: { shape: AVE_SHAPE, recipe: AVE_RECIPE, fromWave: aveSpectrogram },
  avdigits: { shape: FSDD_SHAPE, recipe: FSDD_RECIPE, fromWave: fsddLogMel },
};

type Kind = 'npy' | 'wav' | 'image' | 'frames';

interface FolderModality {
  spec: ModalitySpec;
  kind: Kind;
  dir: string;
  /** For .npy modalities. */
  stored: StoredArrayModality | null;
  /** The file or folder of one sample. */
  path(id: string): string;
}

function probeKind(dir: string, id: string): Kind | null {
  if (existsSync(join(dir, `${id}.npy`))) return 'npy';
  if (existsSync(join(dir, `${id}.wav`))) return 'wav';
  if (existsSync(join(dir, `${id}.jpg`)) || existsSync(join(dir, `${id}.jpeg`)) || existsSync(join(dir, `${id}.png`))) return 'image';
  const sub = join(dir, id);
  if (existsSync(sub) && statSync(sub).isDirectory()) return 'frames';
  return null;
}

function imagePath(dir: string, id: string): string {
  return [`${id}.jpg`, `${id}.jpeg`, `${id}.png`].map((n) => join(dir, n)).find((p) => existsSync(p)) ?? join(dir, `${id}.jpg`);
}

/**
 * Options: audioRecipe ("ks" | "cremad" | "ave" | "avdigits"), frames (default 3), imageSize (224),
 * skipBadSamples, and per .npy modality kind / length / crop / mask (stored-arrays.ts).
 */
export async function openFolder(root: string, options: OpenOptions = {}): Promise<Dataset> {
  const manifest = join(root, 'manifest.csv');
  const text = await readFile(manifest, 'utf8').catch(() => {
    throw new DataError(manifest, 'manifest is missing or unreadable');
  });
  const [header, ...lines] = numberedLines(text);
  if (!header || header.text.replace(/\s/g, '') !== 'id,label,split') {
    throw new DataError(manifest, `expected the header "id,label,split", found "${header?.text ?? ''}"`, header?.line ?? 1);
  }
  const problems = new Problems(options.skipBadSamples === true);
  const rows: { id: string; label: string; split: Split; line: number }[] = [];
  for (const { line, text: t } of lines) {
    const [id, label, split] = t.split(',').map((s) => s.trim());
    if (!id || !label || !split) throw new DataError(manifest, `expected "<id>,<label>,<split>": "${t}"`, line);
    if (!(SPLITS as readonly string[]).includes(split)) {
      problems.report({ id, split: null, file: manifest, line, reason: `unknown split "${split}" (known: train, val, test)` });
      continue;
    }
    rows.push({ id, label, split: split as Split, line });
  }
  if (rows.length === 0) throw new DataError(manifest, 'no samples listed');

  const frames = options.frames ?? 3;
  const size = options.imageSize ?? 224;
  const { decodeScaling } = frameDecodeSettings('folder', options);
  const audioRecipe = AUDIO_RECIPES[String(options.audioRecipe ?? 'ks')];
  if (!audioRecipe) throw new Error(`folder: unknown audioRecipe "${String(options.audioRecipe)}" (known: ${Object.keys(AUDIO_RECIPES).join(', ')})`);
  const dirs = readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory() && !d.name.startsWith('.'))
    .map((d) => d.name)
    .sort();
  if (dirs.length < 2) throw new DataError(root, `a folder dataset needs at least two modality folders, found ${dirs.length}`);
  // per-modality options (`audio.length`, or `audio: {...}`) must name a modality folder
  for (const [key, v] of Object.entries(options)) {
    const owner = key.includes('.') ? key.slice(0, key.indexOf('.')) : typeof v === 'object' && v !== null ? key : null;
    if (owner !== null && !dirs.includes(owner)) throw new DataError(root, `option "${key}" names no modality folder (folders: ${dirs.join(', ')}); fix --data-opt`);
  }
  const modalities: FolderModality[] = [];
  for (const name of dirs) {
    const dir = join(root, name);
    const probe = rows.find((r) => probeKind(dir, r.id) !== null);
    if (!probe) throw new DataError(dir, 'holds no <id>.npy, <id>.wav, <id>.jpg/png or <id>/ for any listed id');
    const kind = probeKind(dir, probe.id)!;
    const path = (id: string): string => (kind === 'npy' ? join(dir, `${id}.npy`) : kind === 'wav' ? join(dir, `${id}.wav`) : kind === 'image' ? imagePath(dir, id) : join(dir, id));
    if (kind === 'npy') {
      const stored = await describeStoredArrays(name, dir, rows.map((r) => path(r.id)).filter((f) => existsSync(f)), options);
      modalities.push({ spec: stored.spec, kind, dir, path, stored });
      continue;
    }
    const own = Object.keys(options).find((k) => k.startsWith(`${name}.`) || (k === name && typeof options[k] === 'object'));
    if (own) throw new DataError(dir, `option "${own}" applies to stored arrays (.npy), and "${name}" holds ${kind === 'wav' ? '.wav files' : kind === 'image' ? 'images' : 'frame folders'}`);
    const shape = kind === 'wav' ? audioRecipe.shape : kind === 'image' ? [3, size, size] : [frames, 3, size, size];
    modalities.push({ spec: { name, shape, augmented: kind === 'image' || kind === 'frames' }, kind, dir, path, stored: null });
  }

  const { classes, index } = classList(rows.map((r) => r.label));
  const bySplit: Record<Split, Sample[]> = { train: [], val: [], test: [] };
  const seen = new Map<string, number>();
  for (const r of rows) {
    const bad = (reason: string): void => problems.report({ id: r.id, split: r.split, file: manifest, line: r.line, reason });
    if (seen.has(r.id)) {
      bad(`duplicate id "${r.id}" (first listed at line ${seen.get(r.id)})`);
      continue;
    }
    const missing = modalities.find((m) => probeKind(m.dir, r.id) !== m.kind);
    if (missing) {
      bad(`"${r.id}": ${missing.path(r.id)} is missing (modality "${missing.spec.name}" holds ${missing.kind} items)`);
      continue;
    }
    seen.set(r.id, r.line);
    const list = bySplit[r.split];
    list.push({ id: r.id, label: index.get(r.label)!, split: r.split, index: list.length, corruption: null, meta: { listFile: manifest, line: r.line } });
  }

  async function loadOne(m: FolderModality, id: string, train: boolean, seed: number, epoch: number, into?: Float32Array): Promise<Float32Array> {
    const file = m.path(id);
    const rng = train ? new Rng(seed, epoch, id, m.spec.name) : null;
    switch (m.kind) {
      case 'npy':
        return loadStoredArray(m.stored!, file, id);
      case 'wav':
        return loadAudioItem(file, audioRecipe);
      case 'image': {
        const out = into ?? new Float32Array(3 * size * size);
        renderImage(await readFile(file), file, { size, rng, decodeScaling }, out, 0);
        return out;
      }
      case 'frames':
        return loadFrames(file, { count: frames, size, rng, decodeScaling }, into);
    }
  }

  const recipe = modalities
    .map((m) => `${m.spec.name}=${m.kind === 'wav' ? audioRecipe.recipe : m.kind === 'npy' ? 'npy-as-stored' : `${m.kind},frames${frames},size${size},imagenet-norm${decodeScaling ? ',dct-scaling' : ''}`}`)
    .join(';');
  return {
    name: 'folder',
    classes,
    modalities: modalities.map((m) => m.spec),
    samples: (split) => bySplit[split],
    recipe: `folder:${recipe}`,
    source: { spec: `folder:${root}`, options },
    skipped: problems.skipped,
    async load(sample, opts) {
      const out: Record<string, Float32Array> = {};
      for (const m of modalities) {
        if (opts.modalities && !opts.modalities.includes(m.spec.name)) continue;
        out[m.spec.name] = await loadOne(m, sample.id, opts.train, opts.seed, opts.epoch, opts.into?.[m.spec.name]);
      }
      return out;
    },
  };
}
