/** Input checks shared by the core math; every error names the offending index and value. */

/** 1-D numeric input accepted by the core functions. */
export type NumericArray = Float64Array | Float32Array | readonly number[];

/**
 * The values as a Float64Array (the same object when it already is one), after checking that
 * every value is finite.
 * @param what name used in error messages, e.g. "x" or "gaps"
 */
export function finiteFloat64(values: NumericArray, what: string): Float64Array {
  const n = values.length;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    // Only NaN and +-Infinity fail; (v - v) is NaN exactly for those.
    if (v - v !== 0) {
      throw new RangeError(`${what}[${i}] is ${v}; expected a finite number`);
    }
  }
  return values instanceof Float64Array ? values : Float64Array.from(values);
}

/** Throws unless value is a finite number within [min, max]. */
export function checkNumberInRange(value: number, name: string, min: number, max = Infinity): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    const range = max === Infinity ? `>= ${min}` : `in [${min}, ${max}]`;
    throw new RangeError(`${name} must be a finite number ${range}, got ${String(value)}`);
  }
}

/** Throws unless value is an integer >= min. */
export function checkInteger(value: number, name: string, min: number): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`${name} must be an integer >= ${min}, got ${String(value)}`);
  }
}

/** Throws unless value is one of the allowed strings. */
export function checkOneOf<T extends string>(value: T, name: string, allowed: readonly T[]): void {
  if (!allowed.includes(value)) {
    throw new RangeError(`${name} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${String(value)}`);
  }
}
