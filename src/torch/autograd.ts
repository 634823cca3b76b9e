/** Grad-mode scopes and explicit gradients. */
import { native } from './native.js';
import { Tensor } from './tensor.js';

/**
 * Runs `fn` with gradient recording off (as `torch.no_grad()`). Grad mode is thread-local in
 * libtorch and every call comes from Node's main thread, so a guard around the callback suffices;
 * `fn` must be synchronous.
 */
export function noGrad<T>(fn: () => T): T {
  const prev = native.isGradEnabled();
  native.setGradEnabled(false);
  try {
    const r = fn();
    if (r instanceof Promise) throw new TypeError('noGrad(fn): fn returned a Promise; grad mode cannot span an await');
    return r;
  } finally {
    native.setGradEnabled(prev);
  }
}

/**
 * Runs `fn` in libtorch's inference mode (as `torch.inference_mode()`): no gradient recording and
 * no view or version-counter bookkeeping, for passes whose outputs never meet autograd. Tensors
 * made inside are inference tensors: they may not be saved for a later backward.
 */
export function inferenceMode<T>(fn: () => T): T {
  native.enterInferenceMode();
  try {
    const r = fn();
    if (r instanceof Promise) throw new TypeError('inferenceMode(fn): fn returned a Promise; the mode cannot span an await');
    return r;
  } finally {
    native.exitInferenceMode();
  }
}

export function isGradEnabled(): boolean { return native.isGradEnabled(); }

/** Backward from several outputs at once (as `torch.autograd.backward`). */
export function backward(outputs: Tensor[], gradients?: (Tensor | null)[], opts: { retainGraph?: boolean } = {}): void {
  native.backward(outputs.map((t) => t.handle), gradients ? gradients.map((g) => g?.handle ?? null) : null, opts.retainGraph ?? false, false);
}

/**
 * Gradients of `outputs` with respect to `inputs`, without touching `.grad` (as `torch.autograd.grad`).
 * An input that does not influence the outputs gets null when `allowUnused`.
 */
export function grad(outputs: Tensor[], inputs: Tensor[], opts: { gradOutputs?: Tensor[]; retainGraph?: boolean; createGraph?: boolean; allowUnused?: boolean } = {}): (Tensor | null)[] {
  const r = native.autogradGrad(outputs.map((t) => t.handle), inputs.map((t) => t.handle),
    opts.gradOutputs ? opts.gradOutputs.map((t) => t.handle) : null, opts.retainGraph ?? false, opts.createGraph ?? false, opts.allowUnused ?? false);
  return r.map((h) => (h === null ? null : new Tensor(h)));
}
