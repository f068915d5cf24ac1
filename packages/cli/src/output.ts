/** Where the CLI writes; `process.stdout` / `process.stderr` in production, collectors in tests. */
export interface CliOutput {
  write(chunk: string): unknown;
  /** True when attached to a terminal (then progress bars may be drawn). */
  readonly isTTY?: boolean | undefined;
  readonly columns?: number | undefined;
}

/** Everything a command run may touch of its process. */
export interface CliIo {
  readonly stdout: CliOutput;
  readonly stderr: CliOutput;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Directory relative paths and `./.halftone/admin-token` are resolved against. */
  readonly cwd: string;
}

/**
 * Writes `value` as one JSON document (pretty-printed) followed by a newline.
 *
 * @example
 * writeJson(process.stdout, { apps: [] });
 */
export function writeJson(out: CliOutput, value: unknown): void {
  out.write(`${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Formats rows as a plain-text table with a header row, columns padded to their widest cell.
 *
 * @example
 * formatTable(['ID', 'NAME'], [['shop', 'Shop']]);
 * // 'ID    NAME\nshop  Shop'
 */
export function formatTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const widths = headers.map((h, i) =>
    Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/**
 * A value as table cell text: `-` for nothing, lists joined with commas.
 *
 * @example
 * cell(['android', 'ios']); // 'android,ios'
 * cell(undefined);          // '-'
 */
export function cell(value: unknown): string {
  if (value === undefined || value === null || value === '') return '-';
  if (Array.isArray(value)) return value.length === 0 ? '-' : value.map(cell).join(',');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/**
 * A byte count for humans.
 *
 * @example
 * formatBytes(1536); // '1.5 KiB'
 */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}
