/**
 * Parsing gaps/epoch-N.csv: id,label,gap,gamma,dominant,corrupted (one line per training sample),
 * then, from runs that write them, pred,pred_<modality>... (predicted classes) and, in
 * gaps/purification.csv, keep (purification's keep probability). Older files lack the later
 * columns and read as before.
 */
import { readFile } from 'node:fs/promises';
import { RunDirError } from './run-dir-error.js';

export interface GapRow {
  id: string;
  label: number;
  gap: number;
  gamma: number;
  dominant: string;
  corrupted: boolean;
  /** Predicted class of the fused output (null when not recorded) and of each modality; absent in older runs. */
  pred?: { fused: number | null; modality: Record<string, number> };
  /** Probability that purification keeps the sample (gaps/purification.csv only). */
  keep?: number;
}

const COLUMNS = ['id', 'label', 'gap', 'gamma', 'dominant', 'corrupted'] as const;

/** The fields of one CSV line; ids and modality names may be quoted ("a,b" and "" escapes). */
export function splitCsvLine(line: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted && c === '"' && line[i + 1] === '"') {
      field += '"';
      i++;
    } else if (c === '"') {
      quoted = !quoted;
    } else if (c === ',' && !quoted) {
      fields.push(field);
      field = '';
    } else {
      field += c;
    }
  }
  fields.push(field);
  return fields;
}

export async function readGapsCsv(file: string): Promise<GapRow[]> {
  const lines = (await readFile(file, 'utf8')).split(/\r?\n/).filter((l) => l !== '');
  const header = splitCsvLine(lines[0] ?? '');
  const col = Object.fromEntries(COLUMNS.map((c) => [c, header.indexOf(c)])) as Record<(typeof COLUMNS)[number], number>;
  const missing = COLUMNS.filter((c) => col[c] < 0);
  if (missing.length > 0) throw new RunDirError(`${file}: header lacks ${missing.join(', ')} (expected ${COLUMNS.join(',')}); train again to rewrite it`);
  const predCol = header.indexOf('pred');
  const modalityCols = header.flatMap((h, k) => (h.startsWith('pred_') ? [[h.slice('pred_'.length), k] as const] : []));
  const keepCol = header.indexOf('keep');
  const classOf = (text: string | undefined, line: number, column: string): number => {
    const v = Number(text);
    if (text === undefined || text === '' || !Number.isInteger(v)) throw new RunDirError(`${file}:${line}: ${column} "${text ?? ''}" is not a class index; train again to rewrite it`);
    return v;
  };
  return lines.slice(1).map((line, i) => {
    const f = splitCsvLine(line);
    const gap = Number(f[col.gap]);
    const gamma = Number(f[col.gamma]);
    if (f.length !== header.length || !Number.isFinite(gap) || !Number.isFinite(gamma)) {
      throw new RunDirError(`${file}:${i + 2}: expected ${header.length} fields with numeric gap and gamma; train again to rewrite it`);
    }
    const row: GapRow = {
      id: f[col.id],
      label: Number(f[col.label]),
      gap,
      gamma,
      dominant: f[col.dominant],
      // Empty when the dataset has no corruption ground truth.
      corrupted: f[col.corrupted] === '1',
    };
    if (predCol >= 0) {
      row.pred = {
        // Empty when the predictions came without fused probabilities.
        fused: f[predCol] === '' ? null : classOf(f[predCol], i + 2, 'pred'),
        modality: Object.fromEntries(modalityCols.map(([m, k]) => [m, classOf(f[k], i + 2, `pred_${m}`)])),
      };
    }
    if (keepCol >= 0) {
      const keep = Number(f[keepCol]);
      if (f[keepCol] === '' || !(keep >= 0 && keep <= 1)) throw new RunDirError(`${file}:${i + 2}: keep "${f[keepCol]}" is not a probability; purify again to rewrite it`);
      row.keep = keep;
    }
    return row;
  });
}
