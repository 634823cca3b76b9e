/**
 * Module: the nn.Module of mmgap. Parameters, buffers and submodules are registered by name, so
 * state dicts use PyTorch's dotted names (a torchvision ResNet18's weights load as they are).
 */
import { Tensor } from '../tensor.js';
import { keep } from '../scope.js';
import { noGrad } from '../autograd.js';
import type { MemoryFormat } from '../dtype.js';

export abstract class Module {
  training = true;
  readonly #params = new Map<string, Tensor>();
  readonly #buffers = new Map<string, Tensor>();
  readonly #modules = new Map<string, Module>();

  /** Registers a trainable tensor (made a leaf that requires grad, exempt from tidy scopes). */
  protected param(name: string, t: Tensor): Tensor {
    if (!t.isLeaf) t = t.detach();
    t.requiresGrad = true;
    this.#params.set(name, keep(t));
    return t;
  }
  /** Registers a non-trainable state tensor (e.g. BatchNorm running statistics). */
  protected buffer(name: string, t: Tensor): Tensor {
    this.#buffers.set(name, keep(t));
    return t;
  }
  /** A registered parameter or buffer by its own (undotted) name. */
  protected tensor(name: string): Tensor {
    const t = this.#params.get(name) ?? this.#buffers.get(name);
    if (!t) throw new Error(`${this.constructor.name} has no parameter or buffer "${name}"`);
    return t;
  }
  protected module<M extends Module>(name: string, m: M): M {
    this.#modules.set(name, m);
    return m;
  }

  *namedParameters(prefix = ''): Generator<[string, Tensor]> {
    for (const [n, t] of this.#params) yield [prefix + n, t];
    for (const [n, m] of this.#modules) yield* m.namedParameters(`${prefix}${n}.`);
  }
  *namedBuffers(prefix = ''): Generator<[string, Tensor]> {
    for (const [n, t] of this.#buffers) yield [prefix + n, t];
    for (const [n, m] of this.#modules) yield* m.namedBuffers(`${prefix}${n}.`);
  }
  *namedModules(prefix = ''): Generator<[string, Module]> {
    yield [prefix.replace(/\.$/, ''), this];
    for (const [n, m] of this.#modules) yield* m.namedModules(`${prefix}${n}.`);
  }
  /** Each trainable tensor once, as PyTorch's `parameters()`: a tied one is listed under every name by namedParameters and the state dict, but trained once. */
  parameters(): Tensor[] { return [...new Set([...this.namedParameters()].map(([, t]) => t))]; }
  buffers(): Tensor[] { return [...this.namedBuffers()].map(([, t]) => t); }
  children(): Module[] { return [...this.#modules.values()]; }
  /** Number of trainable scalars. */
  parameterCount(): number { return this.parameters().reduce((s, p) => s + p.numel, 0); }

  train(on = true): this {
    for (const [, m] of this.namedModules()) m.training = on;
    return this;
  }
  eval(): this { return this.train(false); }

  /** Parameters and buffers by dotted name (the tensors themselves, not copies). */
  stateDict(): Map<string, Tensor> {
    return new Map([...this.namedParameters(), ...this.namedBuffers()]);
  }

  /**
   * Copies values in by name. `strict` (default) requires exactly the same names and shapes; the
   * error names every mismatch.
   */
  loadStateDict(state: Map<string, Tensor> | Record<string, Tensor>, strict = true): void {
    const src = state instanceof Map ? state : new Map(Object.entries(state));
    const own = this.stateDict();
    const problems: string[] = [];
    for (const [name, t] of own) {
      const s = src.get(name);
      if (!s) { if (strict) problems.push(`missing "${name}"`); continue; }
      const a = t.shape.join(','), b = s.shape.join(',');
      if (a !== b) { problems.push(`"${name}": shape [${b}] does not fit [${a}]`); continue; }
      noGrad(() => t.copy_(s));
    }
    if (strict) for (const name of src.keys()) if (!own.has(name)) problems.push(`unexpected "${name}"`);
    if (problems.length) throw new Error(`loadStateDict: ${problems.slice(0, 10).join('; ')}${problems.length > 10 ? ` (and ${problems.length - 10} more)` : ''}`);
  }

  /**
   * Moves every parameter and buffer to a device and/or memory format (4-D tensors only, as
   * PyTorch's `module.to(memory_format=...)`). Call before making the optimizer: tensors are
   * replaced, so layers read theirs through `tensor(name)` rather than holding them in fields.
   * The old tensors are released (one shared by two modules is moved once and stays shared): a
   * reference taken before the move, say by an optimizer, then fails loudly instead of training a
   * stale copy.
   */
  to(opts: { device?: string; memoryFormat?: MemoryFormat }): this {
    const moved = new Map<Tensor, Tensor>();
    const move = (t: Tensor): Tensor => {
      let r = moved.get(t);
      if (r) return r;
      r = noGrad(() => {
        let m = opts.device ? t.to(opts.device as never) : t;
        // A copy with the format's strides, as PyTorch's module.to: contiguous(format) would keep a
        // tensor that is already contiguous in both senses (one input channel), and a convolution
        // then picks its kernel by the weight's (contiguous) strides: 30 % slower for a 1-channel stem.
        if (opts.memoryFormat && m.ndim === 4) m = m.to(m.dtype, { memoryFormat: opts.memoryFormat });
        return m;
      });
      moved.set(t, r);
      return r;
    };
    for (const [, m] of this.namedModules()) m.#replaceAll(move);
    for (const [t, r] of moved) if (r !== t) t.dispose();
    return this;
  }

  #replaceAll(move: (t: Tensor) => Tensor): void {
    for (const [n, t] of this.#params) {
      const r = move(t);
      if (r !== t) this.param(n, r);
    }
    for (const [n, t] of this.#buffers) {
      const r = move(t);
      if (r !== t) this.buffer(n, r);
    }
  }
}
