/** Human-readable lines of a finished run for the terminal. */
import { pct } from '../report/format.js';
import type { RunSummary, SplitScores } from '../train/types.js';

export function scoreLine(name: string, s: SplitScores): string {
  const mods = Object.entries(s.modality).map(([m, v]) => `${m} only ${pct(v.acc)}`).join(', ');
  return `${name}: accuracy ${pct(s.acc)}, macro-F1 ${pct(s.f1)}${mods ? `; ${mods}` : ''}`;
}

export function summaryLines(s: RunSummary, report: string): string[] {
  const lines = [
    `run: ${s.method} on ${s.data}, seed ${s.seed} -> ${s.outDir}`,
    scoreLine(`test (epoch ${s.bestEpoch}, chosen on validation)`, s.test),
  ];
  if (s.auroc !== null) lines.push(`imbalance posterior vs corruption flags: AUROC ${s.auroc.toFixed(3)}`);
  const p = s.purification;
  if (p) lines.push(`purification: kept ${p.kept}/${p.total} (${pct(p.keptFraction)}), test accuracy ${pct(p.before.acc)} -> ${pct(p.after.acc)}`);
  lines.push(`report: ${report}`);
  return lines;
}
