/**
 * Deterministic release of native memory. Tensors made inside `tidy(fn)` are disposed when `fn`
 * returns, except those it returns (found in arrays and plain objects) and those passed to `keep`.
 * Tensors made outside any scope are released by V8's GC through the addon's finalizer.
 */
import { Tensor } from './tensor.js';
import { native } from './native.js';

const scopes: Tensor[][] = [];
const kept = new WeakSet<Tensor>();

/** Called by every Tensor constructor. */
export function track(t: Tensor): void {
  const top = scopes[scopes.length - 1];
  if (top !== undefined) top.push(t);
}

/** Exempts `t` from disposal by every enclosing scope; returns it. */
export function keep<T extends Tensor>(t: T): T {
  kept.add(t);
  return t;
}

function collect(value: unknown, into: Set<Tensor>, depth = 0): void {
  if (depth > 8 || value === null || typeof value !== 'object') return;
  if (value instanceof Tensor) { into.add(value); return; }
  if (Array.isArray(value)) { for (const v of value) collect(v, into, depth + 1); return; }
  if (value instanceof Map) { for (const v of value.values()) collect(v, into, depth + 1); return; }
  if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) collect(v, into, depth + 1);
  }
}

/**
 * Runs `fn` and disposes the tensors it created that it does not return. `fn` must be synchronous:
 * an async function would let other work allocate into this scope.
 */
export function tidy<T>(fn: () => T): T {
  const mine: Tensor[] = [];
  // Tensors made in a scope are freed deterministically, so V8 need not hear of their bytes
  // (reporting them triggers needless full GCs); those that outlive the outermost scope are reported below.
  if (scopes.length === 0) native.setAccounting(false);
  scopes.push(mine);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    leave();
    for (const t of mine) if (kept.has(t)) native.account(t.handle); else t.dispose();
    throw e;
  }
  leave();
  if (result instanceof Promise) {
    throw new TypeError('tidy(fn): fn returned a Promise; scopes only work with synchronous functions');
  }
  const survivors = new Set<Tensor>();
  collect(result, survivors);
  const parent = scopes[scopes.length - 1];
  for (const t of mine) {
    if (survivors.has(t)) {
      if (parent) parent.push(t);
      else native.account(t.handle);
    } else if (kept.has(t)) {
      native.account(t.handle);
    } else {
      t.dispose();
    }
  }
  return result;
}

function leave(): void {
  scopes.pop();
  if (scopes.length === 0) native.setAccounting(true);
}
