/**
 * The baseline rows of bench:methods, taken from the method registry: every registered method is
 * a row with its defaults, so a new method appears in the tables without editing a list. A method
 * whose defaults do not fit the bench's protocol (15 epochs of avdigits) or that makes several
 * rows has its rows here, each with the reason.
 */
import type { MethodFactory } from '../src/methods/method.js';
import { ROLES } from '../src/methods/roles.js';
import type { ConfigInput } from '../src/train/config.js';

export interface Row { label: string; config: ConfigInput; regimes?: string[]; onRequest?: boolean }

/** Rows of the methods that do not run as one row with their defaults, by method name; `purify`: purification as benchmarked. */
export function benchOverrides(purify: Record<string, unknown>): Record<string, Row[]> {
  return {
    // The reference row, purified too (purification's effect on plain training).
    [ROLES.reference]: [{ label: ROLES.reference, config: { method: ROLES.reference, purify } }],
    // One row per modality: each modality's accuracy alone.
    unimodal: ['audio', 'visual'].map((m) => ({ label: `unimodal (${m})`, config: { method: 'unimodal', methodOptions: { modality: m } } })),
    // Its reference re-learns every 20 of ~100 epochs, 3 times; scaled to our 15 epochs (else it would never act).
    'diagnosing-relearning': [{ label: 'diagnosing-relearning', config: { method: 'diagnosing-relearning', methodOptions: { reinitEvery: 4 } } }],
    // Its reference updates the blend every 10 of 70 epochs; scaled to our 15 (else one update at most).
    'g-blending': [{ label: 'g-blending', config: { method: 'g-blending', methodOptions: { superEpoch: 3 } } }],
    // mmgap's own method, purified as benchmarked.
    [ROLES.default]: [{ label: ROLES.default, config: { method: ROLES.default, methodOptions: {}, purify } }],
  };
}

/** Every registered method's rows, in the registry's order; overrides must name registered methods. */
export function methodRows(methods: readonly MethodFactory[], overrides: Record<string, Row[]>): Row[] {
  const names = methods.map((m) => m.name);
  const stray = Object.keys(overrides).filter((k) => !names.includes(k));
  if (stray.length) throw new Error(`bench rows name unregistered methods: ${stray.join(', ')} (registered: ${names.join(', ')})`);
  return methods.flatMap((m) => overrides[m.name] ?? [{ label: m.name, config: { method: m.name } }]);
}
