/** The encoder and fusion kinds, engine-free so that configs can be declared and validated without libtorch. */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { modalityKind, type ModalityKind, type ModalitySpec } from '../data/types.js';

export const ENCODERS = ['mlp', 'seq-cnn', 'gru', 'small-cnn', 'resnet18'] as const;
export type SingleEncoder = (typeof ENCODERS)[number];

/**
 * Frames in order: `<image encoder>+<sequence encoder>` (e.g. small-cnn+gru) encodes each frame,
 * then reads the frames' features as a sequence, where a single image encoder pools them.
 */
export const FRAME_ENCODERS = ['small-cnn', 'resnet18'] as const;
export const STEP_ENCODERS = ['seq-cnn', 'gru'] as const;
export type OrderedFramesEncoder = `${(typeof FRAME_ENCODERS)[number]}+${(typeof STEP_ENCODERS)[number]}`;
export type EncoderKind = SingleEncoder | OrderedFramesEncoder;

/** The modality kinds each single encoder takes (small-cnn reads a sequence [T, D] as a one-channel [T, D] image). */
const TAKES: Record<SingleEncoder, readonly ModalityKind[]> = {
  mlp: ['vector'],
  'seq-cnn': ['sequence'],
  gru: ['sequence'],
  'small-cnn': ['image', 'frames', 'sequence'],
  resnet18: ['image', 'frames'],
};

/** The parts of an ordered-frames encoder, or null for a single one. */
export function orderedFramesParts(enc: EncoderKind): { frame: (typeof FRAME_ENCODERS)[number]; steps: (typeof STEP_ENCODERS)[number] } | null {
  const plus = enc.indexOf('+');
  return plus < 0 ? null : { frame: enc.slice(0, plus) as (typeof FRAME_ENCODERS)[number], steps: enc.slice(plus + 1) as (typeof STEP_ENCODERS)[number] };
}

/** The modality kinds an encoder takes (an ordered-frames one: frames). */
export function encoderTakes(enc: EncoderKind): readonly ModalityKind[] {
  return orderedFramesParts(enc) ? ['frames'] : TAKES[enc as SingleEncoder];
}

/** Every encoder name, the ordered-frames ones included. */
export const ALL_ENCODERS: readonly EncoderKind[] = [...ENCODERS, ...FRAME_ENCODERS.flatMap((f) => STEP_ENCODERS.map((s) => `${f}+${s}` as const))];

/**
 * The encoder `auto` picks for each kind: small and fast on 2 CPU cores, and mask-aware where steps
 * vary. Frames stay pooled (small-cnn per frame): chosen on validation by bench/frames-encoders.ts,
 * where small-cnn+seq-cnn and small-cnn+gru lead where order carries the class (moving, FSDD slices)
 * but fall 5-10 points below it on frames whose order carries none (MNIST), so neither is safe as
 * a default; name one for frames in order (docs/DATA.md).
 */
export const DEFAULT_ENCODER: Record<ModalityKind, EncoderKind> = { vector: 'mlp', sequence: 'seq-cnn', image: 'small-cnn', frames: 'small-cnn' };

/** `torchscript:PATH`: a module saved by torch.jit.save, for a modality of any kind (src/models/torchscript.ts). */
export const TORCHSCRIPT = 'torchscript:';
/** What an `encoder` setting may give a modality: a built-in encoder, or a TorchScript file. */
export type EncoderName = EncoderKind | `${typeof TORCHSCRIPT}${string}`;

/** The TorchScript file an encoder name points to, or null for a built-in encoder. */
export function torchscriptPath(name: EncoderName): string | null {
  return name.startsWith(TORCHSCRIPT) ? name.slice(TORCHSCRIPT.length) : null;
}

/** A parsed `encoder` setting: the encoder of every modality not named (`auto`: by kind), and the named ones. */
export interface EncoderChoice {
  fallback: EncoderName | 'auto';
  byModality: Record<string, EncoderName>;
}

const isEncoder = (s: string): s is EncoderKind => (ALL_ENCODERS as readonly string[]).includes(s);

/** Whether `name` is an encoder (a TorchScript file must exist); the problem as a string. */
function encoderProblem(name: string): string | null {
  if (name.startsWith(TORCHSCRIPT)) {
    const path = name.slice(TORCHSCRIPT.length);
    if (!path) return `"${name}" needs the path of a file saved with torch.jit.save after "${TORCHSCRIPT}"`;
    return existsSync(path) ? null : `TorchScript file ${resolve(path)} does not exist (from "${name}"; relative paths start in the working directory)`;
  }
  if (name === 'auto' || isEncoder(name)) return null;
  return name.includes('+')
    ? `"${name}" is not an encoder of frames in order (${FRAME_ENCODERS.join(' or ')} + ${STEP_ENCODERS.join(' or ')}, e.g. small-cnn+gru)`
    : `"${name}" is not an encoder (encoders: auto, ${ENCODERS.join(', ')}, ${TORCHSCRIPT}PATH)`;
}

/**
 * Parses `auto`, `resnet18` (every modality) or `audio=seq-cnn,visual=torchscript:enc.pt` (each
 * named modality; one bare name among them sets the others). Returns a problem as a string.
 */
export function parseEncoderChoice(text: string): EncoderChoice | string {
  const choice: EncoderChoice = { fallback: 'auto', byModality: {} };
  let bare = 0;
  for (const item of text.split(',').map((s) => s.trim())) {
    const eq = item.indexOf('=');
    // (a bare TorchScript path may hold "=")
    const named = eq >= 0 && !item.startsWith(TORCHSCRIPT);
    const name = named ? item.slice(eq + 1).trim() : item;
    const problem = encoderProblem(name);
    if (problem) return problem;
    if (!named) {
      if (++bare > 1) return `"${text}" names more than one encoder for all modalities; write <modality>=<encoder> pairs`;
      choice.fallback = name as EncoderName | 'auto';
    } else {
      const modality = item.slice(0, eq).trim();
      if (!modality) return `"${item}" needs a modality name before "="`;
      if (name === 'auto') continue;
      choice.byModality[modality] = name as EncoderName;
    }
  }
  return choice;
}

/** The encoder each modality gets under an `encoder` setting, checked against the modalities' kinds. */
export function chooseEncoders(modalities: Pick<ModalitySpec, 'name' | 'shape'>[], setting: string): EncoderName[] {
  const choice = parseEncoderChoice(setting);
  if (typeof choice === 'string') throw new Error(`encoder: ${choice}`);
  const names = modalities.map((m) => m.name);
  const unknown = Object.keys(choice.byModality).find((m) => !names.includes(m));
  if (unknown) throw new Error(`--encoder names modality "${unknown}", which the dataset does not have (it has ${names.join(', ')})`);
  return modalities.map(({ name, shape }) => {
    const kind = modalityKind(shape);
    const enc = choice.byModality[name] ?? (choice.fallback === 'auto' ? DEFAULT_ENCODER[kind] : choice.fallback);
    // (a TorchScript encoder takes what its forward takes: its first batch says)
    if (torchscriptPath(enc) === null && !encoderTakes(enc as EncoderKind).includes(kind)) {
      const fits = ALL_ENCODERS.filter((e) => encoderTakes(e).includes(kind));
      throw new Error(`modality "${name}" is a ${kind} [${shape.join(', ')}], which encoder ${enc} does not take; ` +
        `choose one of ${fits.join(', ')} for it, e.g. --encoder ${name}=${fits[0]}`);
    }
    return enc;
  });
}

/**
 * The `encoder` setting with every TorchScript path made absolute (against the working
 * directory), so that a run's stored config names its files wherever eval or purify run later.
 */
export function absoluteEncoderPaths(text: string): string {
  return text.split(',').map((item) => {
    const at = item.indexOf(TORCHSCRIPT);
    return at < 0 ? item : `${item.slice(0, at)}${TORCHSCRIPT}${resolve(item.slice(at + TORCHSCRIPT.length).trim())}`;
  }).join(',');
}

export const FUSIONS = ['concat', 'sum', 'film', 'gated', 'cosine', 'mmtm'] as const;
export type FusionKind = (typeof FUSIONS)[number];
