/** The encoder and fusion kinds, engine-free so that configs can be declared and validated without libtorch. */
import { modalityKind, type ModalityKind, type ModalitySpec } from '../data/types.js';

export const ENCODERS = ['mlp', 'seq-cnn', 'gru', 'small-cnn', 'resnet18'] as const;
export type EncoderKind = (typeof ENCODERS)[number];

/** The modality kinds each encoder takes (small-cnn reads a sequence [T, D] as a one-channel [T, D] image). */
export const ENCODER_TAKES: Record<EncoderKind, readonly ModalityKind[]> = {
  mlp: ['vector'],
  'seq-cnn': ['sequence'],
  gru: ['sequence'],
  'small-cnn': ['image', 'frames', 'sequence'],
  resnet18: ['image', 'frames'],
};

/** The encoder `auto` picks for each kind: small and fast on 2 CPU cores, and mask-aware where steps vary. */
export const DEFAULT_ENCODER: Record<ModalityKind, EncoderKind> = { vector: 'mlp', sequence: 'seq-cnn', image: 'small-cnn', frames: 'small-cnn' };

/** A parsed `encoder` setting: the encoder of every modality not named (`auto`: by kind), and the named ones. */
export interface EncoderChoice {
  fallback: EncoderKind | 'auto';
  byModality: Record<string, EncoderKind>;
}

const isEncoder = (s: string): s is EncoderKind => (ENCODERS as readonly string[]).includes(s);

/**
 * Parses `auto`, `resnet18` (every modality) or `audio=seq-cnn,visual=small-cnn` (each named
 * modality; one bare name among them sets the others). Returns a problem as a string.
 */
export function parseEncoderChoice(text: string): EncoderChoice | string {
  const choice: EncoderChoice = { fallback: 'auto', byModality: {} };
  let bare = 0;
  for (const item of text.split(',').map((s) => s.trim())) {
    const eq = item.indexOf('=');
    const name = eq < 0 ? item : item.slice(eq + 1).trim();
    if (name !== 'auto' && !isEncoder(name)) return `"${name}" is not an encoder (encoders: auto, ${ENCODERS.join(', ')})`;
    if (eq < 0) {
      if (++bare > 1) return `"${text}" names more than one encoder for all modalities; write <modality>=<encoder> pairs`;
      choice.fallback = name as EncoderKind | 'auto';
    } else {
      const modality = item.slice(0, eq).trim();
      if (!modality) return `"${item}" needs a modality name before "="`;
      if (name === 'auto') continue;
      choice.byModality[modality] = name as EncoderKind;
    }
  }
  return choice;
}

/** The encoder each modality gets under an `encoder` setting, checked against the modalities' kinds. */
export function chooseEncoders(modalities: Pick<ModalitySpec, 'name' | 'shape'>[], setting: string): EncoderKind[] {
  const choice = parseEncoderChoice(setting);
  if (typeof choice === 'string') throw new Error(`encoder: ${choice}`);
  const names = modalities.map((m) => m.name);
  const unknown = Object.keys(choice.byModality).find((m) => !names.includes(m));
  if (unknown) throw new Error(`--encoder names modality "${unknown}", which the dataset does not have (it has ${names.join(', ')})`);
  return modalities.map(({ name, shape }) => {
    const kind = modalityKind(shape);
    const enc = choice.byModality[name] ?? (choice.fallback === 'auto' ? DEFAULT_ENCODER[kind] : choice.fallback);
    if (!ENCODER_TAKES[enc].includes(kind)) {
      const fits = (Object.keys(ENCODER_TAKES) as EncoderKind[]).filter((e) => ENCODER_TAKES[e].includes(kind));
      throw new Error(`modality "${name}" is a ${kind} [${shape.join(', ')}], which encoder ${enc} does not take; ` +
        `choose one of ${fits.join(', ')} for it, e.g. --encoder ${name}=${fits[0]}`);
    }
    return enc;
  });
}

export const FUSIONS = ['concat', 'sum', 'film', 'gated', 'cosine'] as const;
export type FusionKind = (typeof FUSIONS)[number];
