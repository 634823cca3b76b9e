/** The settings of `mmgap data extract` (and of `extractDataset`), declared once. */
import { availableParallelism } from 'node:os';
import { settings, type Values } from '../../settings.js';

export const EXTRACT_SETTINGS = settings({
  workers: { type: 'number', integer: true, min: 1, max: 256, default: availableParallelism(), help: 'clips extracted at once, one ffmpeg each; the default is this machine\'s number of cores' },
  seed: { type: 'number', integer: true, min: 0, default: 0, help: 'seed of the class-stratified split, when no --lists are given' },
  testFraction: { type: 'number', min: 0, max: 1, exclusiveMax: true, default: 0.1, help: 'share of each class put in test, when no --lists are given' },
  valFraction: { type: 'number', min: 0, max: 1, exclusiveMax: true, default: 0.1, help: 'share of each class put in val, for layouts with a val file (ave, folder), when no --lists are given' },
  maxFailed: { type: 'number', min: 0, max: 1, default: 0.05, help: 'the command fails (exit 1) when more than this share of the clips fails; 1: never' },
  eventWindow: { type: 'boolean', default: false, help: 'ave: extract only the annotated event (Start to End of the split files) instead of the whole video' },
  jpegQuality: { type: 'number', integer: true, min: 1, max: 31, default: 2, help: 'ffmpeg -q:v of the JPEG frames (1-2 best, 31 worst)' },
});

export type ExtractSettings = Values<typeof EXTRACT_SETTINGS>;
