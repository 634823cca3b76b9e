/** The middle value of `xs` (the mean of the two middle ones for an even count); `xs` is not changed. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** Student's t quantile t(0.975, df) for df = 1..30 (beyond: the normal's 1.960 within 4 %). */
const T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
  2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042];

/**
 * The geometric mean of positive ratios and its 95 % t-interval (computed on their logarithms), for
 * paired speed ratios measured in rounds: [mean, low, high]; needs at least 2 ratios.
 */
export function ratioInterval95(ratios: number[]): [number, number, number] {
  const n = ratios.length;
  if (n < 2 || ratios.some((r) => !(r > 0))) throw new RangeError(`ratioInterval95 needs at least 2 positive ratios, got [${ratios.join(', ')}]`);
  const logs = ratios.map(Math.log);
  const mean = logs.reduce((s, x) => s + x, 0) / n;
  const sd = Math.sqrt(logs.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1));
  const half = (T975[n - 2] ?? 1.96) * sd / Math.sqrt(n);
  return [Math.exp(mean), Math.exp(mean - half), Math.exp(mean + half)];
}
