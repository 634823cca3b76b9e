/**
 * The class list of a label column: when every label is a non-negative integer, classes are
 * "0".."max" and a label's index is its value; otherwise the sorted set of names.
 */
export function classList(labels: readonly string[]): { classes: string[]; index: Map<string, number> } {
  if (labels.length > 0 && labels.every((l) => /^\d+$/.test(l))) {
    const max = Math.max(...labels.map(Number));
    const classes = Array.from({ length: max + 1 }, (_, i) => String(i));
    const index = new Map(classes.map((c, i) => [c, i]));
    for (const l of labels) index.set(l, Number(l)); // "007" is class 7
    return { classes, index };
  }
  const classes = [...new Set(labels)].sort();
  return { classes, index: new Map(classes.map((c, i) => [c, i])) };
}
