/**
 * Which of a sample's steps (frames, sequence steps) fill the batch's fixed number of them: a
 * window (`random`, `centre`) or one step per segment (`uniform`, and the frame-folder datasets'
 * frame choice), as LengthPolicy and STEP_CHOICES describe.
 */
import type { Rng } from './rng.js';
import type { LengthPolicy } from './types.js';

/**
 * Picks k of n steps: the sample is cut into k equal segments; evaluation (no rng) takes each
 * segment's centre step, training a uniformly random step of each segment. When n < k, steps repeat.
 */
export function pickFrames(n: number, k: number, rng: Rng | null): number[] {
  const seg = n / k;
  return Array.from({ length: k }, (_, i) => Math.min(n - 1, Math.floor(i * seg + (rng ? rng.uniform() : 0.5) * seg)));
}

/**
 * The steps of a sample of `have` steps that fill its batch slot, in order (`rng`: training's, null
 * in evaluation). A window holds at most `policy.steps` (the rest is padding); `uniform` always
 * fills them all.
 */
export function chooseSteps(have: number, policy: LengthPolicy, rng: Rng | null): number[] {
  if (policy.crop === 'uniform') return pickFrames(have, policy.steps, rng);
  const take = Math.min(have, policy.steps);
  const spare = have - take;
  const start = spare === 0 ? 0 : rng && policy.crop === 'random' ? rng.uniformInt(spare + 1) : Math.floor(spare / 2);
  return Array.from({ length: take }, (_, i) => start + i);
}
