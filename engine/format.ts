// Number, size and table formatting shared by the CLI, the worker and the extension.

/** 40551424 -> "40.55M"; null -> "?". */
export function formatCount(value: number | null): string {
  if (value === null) return '?';
  const units: [number, string][] = [[1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k']];
  for (const [size, suffix] of units) if (Math.abs(value) >= size) return `${(value / size).toFixed(2)}${suffix}`;
  return String(value);
}

/** 1082744 -> "1.03 MiB". */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(2)} ${units[unit]}`;
}

/** Renders rows as an aligned text table; columns whose header starts with '>' are right-aligned. */
export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const right = headers.map((h) => h.startsWith('>'));
  const titles = headers.map((h) => h.replace(/^>/, ''));
  const widths = titles.map((t, c) => Math.max(t.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((cell, c) => (right[c] ? cell.padStart(widths[c] ?? 0) : cell.padEnd(widths[c] ?? 0))).join('  ').trimEnd();
  return [line(titles), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
