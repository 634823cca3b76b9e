/** Turns the trainer's TrainEvents into the progress line; its log events (one per epoch among them) print above it. */
import type { TrainEvent } from '../train/types.js';
import type { Progress } from './progress.js';

export interface RenderOptions {
  /** Prefix of every line, e.g. "[joint seed 1] " in a benchmark. */
  tag?: string;
  /** The share of the whole job this run covers (a benchmark maps each run into its slice). */
  span?: [number, number];
}

export function renderTrainEvents(progress: Progress, { tag = '', span = [0, 1] }: RenderOptions = {}): (e: TrainEvent) => void {
  const [lo, hi] = span;
  let phase = 'starting';
  let fraction = 0;
  const show = (label: string): void => progress.update(lo + (hi - lo) * fraction, `${tag}${label}`);
  return (e) => {
    switch (e.kind) {
      case 'log':
        progress.log(`${tag}${e.line}`);
        break;
      case 'phase':
        phase = e.phase;
        show(phase);
        break;
      case 'resumed':
        // The trainer logs the resumption itself.
        break;
      case 'step':
        // A step event's epoch is 0-based (EpochMetrics' is 1-based); step counts the batches done in it.
        fraction = Math.min(1, (e.epoch + e.step / Math.max(1, e.steps)) / Math.max(1, e.epochs));
        show(`epoch ${e.epoch + 1}/${e.epochs} ${e.stage} step ${e.step}/${e.steps} loss ${e.loss.toFixed(4)}`);
        break;
      case 'epoch':
        fraction = Math.min(1, e.metrics.epoch / Math.max(1, e.epochs));
        show(`epoch ${e.metrics.epoch}/${e.epochs} done`);
        break;
    }
  };
}
