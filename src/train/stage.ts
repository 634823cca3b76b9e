/**
 * The one stage runner: trains a stage's epochs, tracks its best epoch on validation, writes
 * the checkpoints after every epoch (atomically), and resumes a stage from the last checkpoint.
 * A run is a sequence of stages ('train': the shared warm-up and the method; 'finetune':
 * purification); the checkpoint says which stage it was written in, so a resumed run skips the
 * stages that finished and continues the one that did not.
 */
import { emptyCache, type GradScaler, type Tensor, type optim } from '../torch/index.js';
import { epochMemory } from './memory.js';
import type { Method, MethodState } from '../methods/method.js';
import { pick, prefixed, type CheckpointName } from './rundir.js';
import { scriptedFiles } from '../models/torchscript.js';
import type { EpochSpec, Session } from './session.js';
import type { EpochMetrics, SplitScores } from './types.js';

export const STAGES = ['train', 'finetune'] as const;
export type StageName = (typeof STAGES)[number];

export interface Best { epoch: number; val: SplitScores }

/** Trainer state in each checkpoint's metadata (the one definition). */
export interface CheckpointMeta {
  stage: StageName;
  /** Epochs finished in this stage. */
  epochsDone: number;
  /** Optimizer steps taken so far (the global step counter of StepContext). */
  step: number;
  history: EpochMetrics[];
  /** The best epoch of each stage that has one so far. */
  best: Partial<Record<StageName, Best>>;
  optimizer: { stepCount: number; groups: { lr: number }[] };
  /** The JSON part of the stage's method state (its tensors are under "method."). */
  method: Record<string, unknown>;
  /** What the stage must remember besides (e.g. purification's selection); its tensors are under "stage.". */
  stageData: Record<string, unknown>;
  /** The fp16 loss scaler's state (fp16 runs only). */
  scaler?: ReturnType<GradScaler['stateDict']>;
}

export interface Checkpoint { tensors: Map<string, Tensor>; meta: CheckpointMeta }

export interface StageSpec {
  name: StageName;
  /** Run-level index of the stage's first epoch, and the stage's number of epochs. */
  first: number;
  epochs: number;
  /** Epochs of the whole run (progress). */
  total: number;
  /** How epoch `e` (run-level, 0-based) trains. */
  plan(e: number): EpochSpec;
  /** The method whose state the checkpoints keep. */
  stateful: Method;
  optimizer: optim.Optimizer<{ lr: number }>;
  schedule: optim.LRScheduler | null;
  /** Where the stage's best epoch goes. */
  bestCheckpoint: CheckpointName;
  stageData: Record<string, unknown>;
  stageTensors: Record<string, Tensor>;
  /** The log line of a finished epoch. */
  describe(m: EpochMetrics): string;
}

/** The stage a checkpoint belongs to comes before (-1), is (0) or comes after (1) `name`. */
export function stageOrder(last: Checkpoint | null, name: StageName): -1 | 0 | 1 {
  if (!last) return -1;
  const d = STAGES.indexOf(last.meta.stage) - STAGES.indexOf(name);
  return d < 0 ? -1 : d > 0 ? 1 : 0;
}

/**
 * Runs (or resumes, from `last`) one stage; returns its best epoch. When `last` was written by a
 * later stage this one finished before, and it returns at once. The caller has loaded the
 * weights the stage starts from.
 */
export async function runStage(s: Session, spec: StageSpec, last: Checkpoint | null): Promise<Best> {
  const order = stageOrder(last, spec.name);
  if (order > 0) {
    const done = s.best[spec.name];
    if (!done) throw new Error(`the checkpoint of ${s.dir.path} has no best epoch for its finished ${spec.name} stage; run again with --no-resume`);
    return done;
  }
  let done = 0;
  let best: Best | null = null;
  if (order === 0 && last) {
    done = last.meta.epochsDone;
    best = s.best[spec.name] ?? null;
    if (done < spec.epochs) {
      s.model.loadStateDict(pick(last.tensors, 'model.'));
      spec.optimizer.loadStateDict({ tensors: pick(last.tensors, 'optim.'), meta: last.meta.optimizer });
      spec.schedule?.setEpoch(done);
      spec.stateful.loadState?.({ json: last.meta.method, tensors: Object.fromEntries(pick(last.tensors, 'method.')) });
      if (last.meta.scaler) s.scaler?.loadStateDict(last.meta.scaler);
      s.invalidate();
    }
  }
  for (let k = done; k < spec.epochs; k++) {
    const e = spec.first + k;
    // Each stage (warm-up, main, fine-tuning) starts with the cached tensor memory handed back.
    if (s.history.at(-1)?.stage !== spec.plan(e).stage) emptyCache();
    const m = await s.epoch(e, spec.total, spec.plan(e));
    m.memory = epochMemory();
    spec.schedule?.step();
    s.history.push(m);
    if ((spec.stateful.selectable?.() ?? true) && (!best || m.val.acc > best.val.acc)) {
      best = { epoch: m.epoch, val: m.val };
      s.best[spec.name] = best;
      s.dir.saveCheckpoint(spec.bestCheckpoint, new Map(prefixed('model.', s.model.stateDict())), { epoch: m.epoch }, scriptedFiles(s.model));
    }
    const ms: MethodState | undefined = spec.stateful.state?.();
    const meta: CheckpointMeta = {
      stage: spec.name, epochsDone: k + 1, step: s.step, history: s.history,
      best: s.best, optimizer: spec.optimizer.stateDict().meta,
      method: ms?.json ?? {}, stageData: spec.stageData, ...(s.scaler && { scaler: s.scaler.stateDict() }),
    };
    s.dir.saveCheckpoint('last', new Map([
      ...prefixed('model.', s.model.stateDict()),
      ...prefixed('optim.', spec.optimizer.stateDict().tensors),
      ...prefixed('method.', ms?.tensors ?? {}),
      ...prefixed('stage.', spec.stageTensors),
    ]), meta);
    s.dir.writeMetrics(s.history);
    s.tensorboard?.epoch(m);
    s.log(spec.describe(m));
    s.opts.onEvent?.({ kind: 'epoch', metrics: m, epochs: spec.total });
  }
  if (!best) {
    throw new Error(`the ${spec.name} stage finished no epoch that its method ${spec.stateful.name} lets be selected (its first epochs prepare, e.g. train teachers); give the stage more epochs`);
  }
  return best;
}
