/**
 * The engine benchmarks' model (bench/engine.ts, bench/ddp.ts; PyTorch's twin is `AV` in
 * bench/engine_torch.py): a ResNet18 audio encoder on 1x128x128 and a ResNet18 visual encoder on
 * 3x112x112, their pooled features concatenated into a Linear to 10 classes; and how both time it.
 */
import { nn, cat, type MemoryFormat, type Tensor } from '../src/torch/index.js';

/** The memory formats the model's 4-d inputs are timed in (PyTorch's side: `--format`). */
export const INPUT_FORMATS: readonly MemoryFormat[] = ['contiguous', 'channels_last'];

export class AudioVisual extends nn.Module {
  readonly audio = this.module('audio', new nn.ResNet18({ inChannels: 1 }));
  readonly visual = this.module('visual', new nn.ResNet18({ inChannels: 3 }));
  readonly fc = this.module('fc', new nn.Linear(1024, 10));
  forward(a: Tensor, v: Tensor): Tensor { return this.fc.forward(cat([this.audio.forward(a), this.visual.forward(v)], 1)); }
}

/** Seconds of each of `steps` calls of `step` after `warmup` untimed ones (as `timed_steps` in bench/engine_torch.py). */
export function timedSteps(step: () => void, warmup: number, steps: number): number[] {
  for (let i = 0; i < warmup; i++) step();
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    step();
    times.push((performance.now() - t0) / 1000);
  }
  return times;
}
