/** Weight initialisation, as torch.nn.init (in place, without recording gradients). */
import type { Tensor } from '../tensor.js';
import { noGrad } from '../autograd.js';
import * as ops from '../ops.generated.js';

export type Nonlinearity = 'relu' | 'leaky_relu' | 'linear' | 'tanh' | 'sigmoid';

/** fan_in and fan_out of a weight of shape [out, in, ...kernel]. */
export function fans(t: Tensor): { fanIn: number; fanOut: number } {
  const s = t.shape;
  if (s.length < 2) throw new Error(`fans: need a tensor with at least 2 dimensions, got [${s.join(', ')}]`);
  const receptive = s.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: (s[1] as number) * receptive, fanOut: (s[0] as number) * receptive };
}

export function gain(nonlinearity: Nonlinearity, a = 0): number {
  switch (nonlinearity) {
    case 'relu': return Math.SQRT2;
    case 'leaky_relu': return Math.sqrt(2 / (1 + a * a));
    case 'tanh': return 5 / 3;
    case 'linear': case 'sigmoid': return 1;
  }
}

export function uniform_(t: Tensor, low: number, high: number): Tensor { noGrad(() => ops.uniform_(t, low, high).dispose()); return t; }
export function normal_(t: Tensor, mean: number, std: number): Tensor { noGrad(() => ops.normal_(t, mean, std).dispose()); return t; }
export function constant_(t: Tensor, v: number): Tensor { noGrad(() => ops.fill_(t, v).dispose()); return t; }

export function kaimingUniform_(t: Tensor, opts: { a?: number; mode?: 'fan_in' | 'fan_out'; nonlinearity?: Nonlinearity } = {}): Tensor {
  const f = fans(t);
  const fan = opts.mode === 'fan_out' ? f.fanOut : f.fanIn;
  const bound = gain(opts.nonlinearity ?? 'leaky_relu', opts.a ?? 0) * Math.sqrt(3 / fan);
  return uniform_(t, -bound, bound);
}

export function kaimingNormal_(t: Tensor, opts: { a?: number; mode?: 'fan_in' | 'fan_out'; nonlinearity?: Nonlinearity } = {}): Tensor {
  const f = fans(t);
  const fan = opts.mode === 'fan_out' ? f.fanOut : f.fanIn;
  return normal_(t, 0, gain(opts.nonlinearity ?? 'leaky_relu', opts.a ?? 0) / Math.sqrt(fan));
}

export function xavierUniform_(t: Tensor, g = 1): Tensor {
  const f = fans(t);
  const bound = g * Math.sqrt(6 / (f.fanIn + f.fanOut));
  return uniform_(t, -bound, bound);
}

export function xavierNormal_(t: Tensor, g = 1): Tensor {
  const f = fans(t);
  return normal_(t, 0, g * Math.sqrt(2 / (f.fanIn + f.fanOut)));
}

/** PyTorch's default for Linear and Conv layers: kaiming_uniform(a=sqrt(5)) and a fan-in bias. */
export function defaultLayerInit(weight: Tensor, bias: Tensor | null): void {
  kaimingUniform_(weight, { a: Math.sqrt(5) });
  if (bias) {
    const bound = 1 / Math.sqrt(fans(weight).fanIn);
    uniform_(bias, -bound, bound);
  }
}
