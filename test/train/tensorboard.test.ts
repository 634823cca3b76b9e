// TensorBoard event files, read back by a reader written apart from the writer: Python, with its
// own bitwise CRC-32C and its own protobuf decoding, checks every record's length, both masked
// CRCs and the Event fields.
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { crc32c, EventWriter, epochScalars } from '../../src/train/tensorboard.js';
import { trainRun } from '../../src/train/run.js';
import type { EpochMetrics } from '../../src/train/types.js';
import { runPython, tempDir } from '../helpers/python.js';
import { writeTinyDataset } from '../helpers/tiny-dataset.js';

const READER = `
import sys, struct, json

def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF

def masked(data):
    c = crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF

def fields(buf):
    """(field number, wire type, value) of a protobuf message."""
    out, i = [], 0
    def varint():
        nonlocal i
        shift = v = 0
        while True:
            b = buf[i]; i += 1
            v |= (b & 0x7F) << shift; shift += 7
            if not b & 0x80:
                return v
    while i < len(buf):
        key = varint()
        num, wire = key >> 3, key & 7
        if wire == 0:
            val = varint()
        elif wire == 1:
            val = buf[i:i + 8]; i += 8
        elif wire == 2:
            n = varint(); val = buf[i:i + n]; i += n
        elif wire == 5:
            val = buf[i:i + 4]; i += 4
        else:
            raise ValueError('wire type %d' % wire)
        out.append((num, wire, val))
    return out

def event(data):
    e = {'values': []}
    for num, wire, val in fields(data):
        if num == 1 and wire == 1: e['wall_time'] = struct.unpack('<d', val)[0]
        elif num == 2 and wire == 0: e['step'] = val
        elif num == 3 and wire == 2: e['file_version'] = val.decode()
        elif num == 5 and wire == 2:
            for vnum, vwire, v in fields(val):
                assert vnum == 1 and vwire == 2, (vnum, vwire)
                tag, simple = None, None
                for f, w, x in fields(v):
                    if f == 1 and w == 2: tag = x.decode()
                    elif f == 2 and w == 5: simple = struct.unpack('<f', x)[0]
                    else: raise ValueError('Value field %d' % f)
                e['values'].append([tag, simple])
        else: raise ValueError('Event field %d wire %d' % (num, wire))
    return e

buf = open(sys.argv[1], 'rb').read()
events, i = [], 0
while i < len(buf):
    head = buf[i:i + 8]
    (n,) = struct.unpack('<Q', head)
    (len_crc,) = struct.unpack('<I', buf[i + 8:i + 12])
    assert len_crc == masked(head), 'length crc at %d' % i
    data = buf[i + 12:i + 12 + n]
    assert len(data) == n, 'record at %d cut short' % i
    (data_crc,) = struct.unpack('<I', buf[i + 12 + n:i + 16 + n])
    assert data_crc == masked(data), 'data crc at %d' % i
    events.append(event(data))
    i += 16 + n
print(json.dumps(events))
`;

interface Ev { wall_time: number; step?: number; file_version?: string; values: [string, number][] }
const read = (file: string): Ev[] => JSON.parse(runPython(READER, [file])) as Ev[];

describe('TensorBoard event files', () => {
  it('CRC-32C gives the standard check value', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
  });

  it('are TFRecords of Event protobufs: file_version first, then steps of tagged float scalars', () => {
    const dir = tempDir();
    const before = Date.now() / 1000;
    const w = new EventWriter(dir);
    w.scalars(1, [['train/loss', 0.6931471805599453], ['val/accuracy', 0.75]]);
    w.scalars(300, [['gmm/bic_1', -1234.5678], ['lr', 1e-3]]);
    const events = read(w.path);
    expect(basename(w.path)).toMatch(/^events\.out\.tfevents\.\d+\./);
    expect(events).toHaveLength(3);
    expect(events[0]!.file_version).toBe('brain.Event:2');
    for (const e of events) expect(Math.abs(e.wall_time - before)).toBeLessThan(60);
    expect(events.slice(1).map((e) => e.step)).toEqual([1, 300]);
    expect(events[1]!.values).toEqual([['train/loss', Math.fround(0.6931471805599453)], ['val/accuracy', 0.75]]);
    expect(events[2]!.values).toEqual([['gmm/bic_1', Math.fround(-1234.5678)], ['lr', Math.fround(1e-3)]]);
  });

  it('hold every epoch of a run: losses, accuracies per head, gaps, GMM and learning rate', async () => {
    const d = tempDir();
    const out = join(d, 'runs', 'tiny');
    await trainRun({ data: `folder:${writeTinyDataset()}`, method: 'gmm-adaptive', epochs: 3, warmup: 1, batchSize: 16, width: 4, threads: 1, seed: 1,
      tensorboard: join(d, 'runs') }, { outDir: out });
    // beside metrics.jsonl: runs/tiny is both the run directory and its TensorBoard run
    const files = readdirSync(out).filter((f) => f.startsWith('events.out.tfevents.'));
    expect(files).toHaveLength(1);
    const events = read(join(out, files[0]!)).slice(1);
    const metrics = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as EpochMetrics);
    expect(events.map((e) => e.step)).toEqual([1, 2, 3]);
    events.forEach((e, i) => {
      const m = metrics[i]!;
      const tags = Object.fromEntries(e.values);
      for (const t of ['train/loss', 'train/accuracy', 'val/accuracy', 'val/accuracy_audio', 'val/accuracy_visual', 'gap/mean', 'gap/std', 'gmm/imbalanced_share', 'gmm/bic_1', 'gmm/bic_2', 'lr']) {
        expect(tags, `epoch ${i + 1} ${t}`).toHaveProperty([t]);
      }
      expect(tags['train/loss']).toBe(Math.fround(m.train.loss));
      expect(tags['val/accuracy_audio']).toBe(Math.fround(m.val.modality.audio!.acc));
      expect(tags['gap/std']).toBe(Math.fround(m.gap!.std));
      expect(tags['gmm/bic_1']).toBe(Math.fround(m.gmm!.bic1));
      expect(tags.lr).toBe(Math.fround(m.lr));
      expect(tags['memory/max_rss_mib']).toBe(Math.fround(m.memory!.maxRss / 2 ** 20));
      expect(e.values).toEqual(epochScalars(m).map(([t, v]) => [t, Math.fround(v)]));
    });
  });
});
