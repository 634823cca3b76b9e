/** gaps/epoch-N.csv and gaps/purification.csv: the columns written since predictions and keep, and older files without them. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readGapsCsv } from '../../src/report/gaps-csv.js';
import { rowsToCsv, type SampleRow } from '../../src/train/diagnostics.js';

const dir = mkdtempSync(join(tmpdir(), 'mmgap-gaps-csv-'));
function file(name: string, text: string): string {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
}

const rows: SampleRow[] = [
  { id: 'a,1', label: 2, gap: 0.5, gamma: 0.9, dominant: 'audio', corrupted: 1, pred: { fused: 2, modality: { audio: 2, 'lip frames': 0 } } },
  { id: 'b', label: 0, gap: -0.1, gamma: 0.1, dominant: 'lip frames', corrupted: 0, pred: { fused: null, modality: { audio: 1, 'lip frames': 0 } } },
];

describe('gaps CSV', () => {
  it('round-trips predictions (fused may be missing) and keep', async () => {
    const back = await readGapsCsv(file('new.csv', rowsToCsv(rows, [0, 1])));
    expect(back.map((r) => [r.id, r.pred, r.keep])).toEqual([
      ['a,1', { fused: 2, modality: { audio: 2, 'lip frames': 0 } }, 0],
      ['b', { fused: null, modality: { audio: 1, 'lip frames': 0 } }, 1],
    ]);
    expect(back[0]?.corrupted).toBe(true);
  });

  it('reads the six columns of older runs, without predictions', async () => {
    const back = await readGapsCsv(file('old.csv', 'id,label,gap,gamma,dominant,corrupted\ns0,3,0.2,0.4,visual,\n'));
    expect(back).toEqual([{ id: 's0', label: 3, gap: 0.2, gamma: 0.4, dominant: 'visual', corrupted: false }]);
  });

  it('names the file, line and column of a bad prediction or keep', async () => {
    await expect(readGapsCsv(file('bad-pred.csv', 'id,label,gap,gamma,dominant,corrupted,pred,pred_audio\ns0,3,0.2,0.4,audio,,1,x\n')))
      .rejects.toThrow(/bad-pred\.csv:2: pred_audio "x" is not a class index/);
    await expect(readGapsCsv(file('bad-keep.csv', 'id,label,gap,gamma,dominant,corrupted,keep\ns0,3,0.2,0.4,audio,,1.5\n')))
      .rejects.toThrow(/bad-keep\.csv:2: keep "1\.5" is not a probability/);
  });
});
