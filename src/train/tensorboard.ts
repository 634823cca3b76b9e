/**
 * TensorBoard event files (`--tensorboard DIR`): each finished epoch's scalars, readable by
 * `tensorboard --logdir DIR`. The format is TensorFlow's: a file of TFRecords (uint64 length,
 * masked CRC32C of the length, the data, masked CRC32C of the data), each an `Event` protobuf
 * (wall_time = 1: double, step = 2: int64, file_version = 3: string, summary = 5: Summary), the
 * first one giving file_version "brain.Event:2"; a Summary holds `value` (1) entries of
 * tag (1: string) and simple_value (2: float). Engine-free; written with appends (a record cut
 * short by a kill is the last one, which TensorBoard's reader skips).
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { EpochMetrics } from './types.js';

const CRC32C_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32C (Castagnoli), as TFRecord uses. */
export function crc32c(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = (CRC32C_TABLE[(c ^ b) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** TFRecord's masked CRC: rotated right by 15 bits, plus a constant. */
export function maskedCrc32c(bytes: Uint8Array): number {
  const c = crc32c(bytes);
  return (((c >>> 15) | (c << 17)) + 0xa282ead8) >>> 0;
}

/** A TFRecord around `data`. */
export function tfRecord(data: Uint8Array): Buffer {
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(data.byteLength));
  const crcs = Buffer.alloc(8);
  crcs.writeUInt32LE(maskedCrc32c(len), 0);
  crcs.writeUInt32LE(maskedCrc32c(data), 4);
  return Buffer.concat([len, crcs.subarray(0, 4), data, crcs.subarray(4)]);
}

// ---- protobuf: the four wire forms an Event needs ----
function varint(n: bigint): number[] {
  const out: number[] = [];
  let v = BigInt.asUintN(64, n);
  do {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v ? b | 0x80 : b);
  } while (v);
  return out;
}
const key = (field: number, wire: number): number[] => varint(BigInt((field << 3) | wire));
function bytesField(field: number, data: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([...key(field, 2), ...varint(BigInt(data.byteLength))]), data]);
}
function doubleField(field: number, v: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(v);
  return Buffer.concat([Buffer.from(key(field, 1)), b]);
}
function floatField(field: number, v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeFloatLE(v);
  return Buffer.concat([Buffer.from(key(field, 5)), b]);
}

/** An Event protobuf: a file_version, or a step's scalars. */
export function eventProto(wallTime: number, step: number, body: { fileVersion: string } | { scalars: [string, number][] }): Buffer {
  const parts = [doubleField(1, wallTime), Buffer.from([...key(2, 0), ...varint(BigInt(step))])];
  if ('fileVersion' in body) {
    parts.push(bytesField(3, Buffer.from(body.fileVersion, 'utf8')));
  } else {
    const values = body.scalars.map(([tag, v]) => bytesField(1, Buffer.concat([bytesField(1, Buffer.from(tag, 'utf8')), floatField(2, v)])));
    parts.push(bytesField(5, Buffer.concat(values)));
  }
  return Buffer.concat(parts);
}

/**
 * An epoch's scalars under TensorBoard tags: training loss and accuracy, the method's logged
 * terms, validation accuracy and macro-F1 of the fused prediction and of each modality's head,
 * the training gaps' mean and spread, the GMM's imbalanced share, BICs and AUROC, the learning
 * rate, the epoch's seconds and its tensor and resident memory peaks. Non-finite values are left
 * out (TensorBoard plots none).
 */
export function epochScalars(m: EpochMetrics): [string, number][] {
  const s: [string, number | null | undefined][] = [
    ['train/loss', m.train.loss], ['train/accuracy', m.train.acc],
    ...Object.entries(m.train.logs).map(([k, v]): [string, number] => [`train/${k}`, v]),
    ['val/accuracy', m.val.acc], ['val/macro_f1', m.val.f1],
    ...Object.entries(m.val.modality).flatMap(([mod, sc]): [string, number][] => [[`val/accuracy_${mod}`, sc.acc], [`val/macro_f1_${mod}`, sc.f1]]),
    ['gap/mean', m.gap?.mean], ['gap/std', m.gap?.std],
    ['gmm/imbalanced_share', m.gmm?.shareImbalanced], ['gmm/bic_1', m.gmm?.bic1], ['gmm/bic_2', m.gmm?.bic2], ['gmm/auroc', m.gmm?.auroc],
    ['lr', m.lr], ['time/epoch_seconds', m.seconds],
    ['memory/peak_allocated_mib', (m.memory?.peakAllocated ?? NaN) / 2 ** 20], ['memory/max_rss_mib', (m.memory?.maxRss ?? NaN) / 2 ** 20],
  ];
  return s.filter((e): e is [string, number] => typeof e[1] === 'number' && Number.isFinite(e[1]));
}

let opened = 0;

/** A new event file in `dir` (created if missing), named as TensorFlow names them (plus a count: a process may write several). */
export class EventWriter {
  readonly path: string;
  constructor(dir: string) {
    mkdirSync(dir, { recursive: true });
    const now = Date.now() / 1000;
    this.path = join(dir, `events.out.tfevents.${Math.floor(now)}.${hostname()}.${process.pid}.${opened++}`);
    appendFileSync(this.path, tfRecord(eventProto(now, 0, { fileVersion: 'brain.Event:2' })));
  }

  scalars(step: number, values: [string, number][]): void {
    appendFileSync(this.path, tfRecord(eventProto(Date.now() / 1000, step, { scalars: values })));
  }

  epoch(m: EpochMetrics): void { this.scalars(m.epoch, epochScalars(m)); }
}
