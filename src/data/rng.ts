/**
 * Seeded randomness. Every random choice in src/data draws from a generator keyed by the values
 * that define it (seed, epoch, sample id, purpose), so results do not depend on worker scheduling.
 */
import { SeededRandom } from '../core/prng.js';

/** A 32-bit hash of any list of strings and numbers (FNV-1a, then a murmur3 finaliser). */
export function hashKey(...parts: (string | number)[]): number {
  let h = 0x811c9dc5;
  const text = parts.join('\u0001');
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The generator of a key: core's SeededRandom seeded with the key's hash. */
export class Rng extends SeededRandom {
  constructor(...key: (string | number)[]) {
    super(hashKey(...key));
  }
}
