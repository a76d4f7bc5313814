// The one summary line a server prints when it stops:
// `summary: 3 connections, 12 bytes echoed, 1 refused (--max-conns 2)`.

/** `1 connection`, `3 connections`. */
export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** `summary: ` and the parts, then each extra whose count is not zero (`1 refused (...)`). */
export function summaryLine(parts: string[], extras: Array<[count: number, what: string]> = []): string {
  const counted = extras.filter(([count]) => count > 0).map(([count, what]) => `${count} ${what}`);
  return `summary: ${[...parts, ...counted].join(', ')}`;
}
