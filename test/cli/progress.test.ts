import { afterEach, describe, expect, it, vi } from 'vitest';
import { Progress } from '../../src/cli/progress.js';
import { renderTrainEvents } from '../../src/cli/train-events.js';
import { memoryIo } from './helpers/memory-io.js';

/** Carriage return + erase line: how the bar redraws in place. */
const CLEAR = '\r\x1b[K';

afterEach(() => vi.useRealTimers());

describe('progress line', () => {
  it('draws a bar with an ETA extrapolated from the rate so far, on a terminal', () => {
    vi.useFakeTimers();
    vi.setSystemTime(0);
    const io = memoryIo({ tty: true });
    const p = new Progress(io, false);
    p.update(0, 'training');
    vi.setSystemTime(10_000);
    p.update(0.25, 'training');
    const screen = io.err.replaceAll(CLEAR, '<clear>');
    expect(screen).toMatch(/<clear>training \[#+-+\] +25% ETA 30 s$/);
    p.log('epoch 1 done');
    expect(io.err.replaceAll(CLEAR, '<clear>')).toMatch(/<clear>epoch 1 done\n<clear>training \[/);
    p.clear();
    expect(io.err.endsWith(CLEAR)).toBe(true);
  });

  it('is silent under --json and draws no bar without a terminal (log lines still print)', () => {
    const json = memoryIo({ tty: true });
    const pj = new Progress(json, true);
    pj.update(0.5, 'x');
    pj.log('line');
    expect(json.err).toBe('');
    const pipe = memoryIo({ tty: false });
    const pp = new Progress(pipe, false);
    pp.update(0.5, 'x');
    pp.log('line');
    expect(pipe.err).toBe('line\n');
  });

  it('maps training steps into the share of a benchmark run', () => {
    vi.useFakeTimers();
    vi.setSystemTime(0);
    const io = memoryIo({ tty: true });
    const onEvent = renderTrainEvents(new Progress(io, false), { tag: '[b] ', span: [0.5, 1] });
    onEvent({ kind: 'step', epoch: 0, epochs: 2, stage: 'warmup', step: 5, steps: 10, loss: 1.5 });
    expect(io.err).toMatch(/\[b\] epoch 1\/2 warmup step 5\/10 loss 1\.5000 \[#+-+\] +62% ETA/);
  });
});
