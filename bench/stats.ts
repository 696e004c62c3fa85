/** Median and range: the figures the table reports, since one run on a 2-core machine proves little. */
export interface Spread {
  median: number;
  min: number;
  max: number;
}

export function spread(values: number[]): Spread {
  if (!values.length) return { median: NaN, min: NaN, max: NaN };
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1] };
}

export function median(values: number[]): number {
  return spread(values).median;
}

/** `1,234 (1,100–1,300)`; the range is left out when there was one value. */
export function formatSpread(value: Spread, digits = 0): string {
  if (Number.isNaN(value.median)) return '—';
  const format = (n: number) => n.toLocaleString('en', { minimumFractionDigits: digits, maximumFractionDigits: digits });
  return value.min === value.max ? format(value.median) : `${format(value.median)} (${format(value.min)}–${format(value.max)})`;
}

export function formatNumber(value: number, digits = 0): string {
  return Number.isNaN(value) ? '—' : value.toLocaleString('en', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}
