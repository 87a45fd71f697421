/**
 * Printing for the CLI. `--json` prints the API's JSON unchanged (2-space indent, one trailing newline);
 * otherwise aligned columns (`printTable`) or aligned `key  value` lines (`printFields`). Absent values
 * print as `-`, timestamps (ms since the epoch) as ISO 8601 in UTC to the second, objects as JSON.
 */
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** Fields whose numbers are timestamps. */
const TIME_FIELD = /(At|Until)$/;

/** One value as table text. */
export function cell(v: unknown, key = ''): string {
  if (v === null || v === undefined || v === '') return '-';
  if (typeof v === 'number' && TIME_FIELD.test(key)) return isoSeconds(v);
  if (Array.isArray(v)) return v.length ? v.map((x) => cell(x)).join(',') : '-';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Columns as text, each as wide as its widest cell; trailing spaces trimmed. */
export function formatTable(rows: Record<string, unknown>[], columns: string[]): string {
  const text = rows.map((r) => columns.map((c) => cell(r[c], c)));
  const widths = columns.map((c, i) => Math.max(c.length, ...text.map((t) => t[i]!.length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.toUpperCase())), ...text.map(line)].map((l) => l + '\n').join('');
}

export function printTable(rows: Record<string, unknown>[], columns: string[]): void {
  process.stdout.write(formatTable(rows, columns));
}

/** `key  value` lines for the given keys of one record, keys padded to the longest. */
export function printFields(record: Record<string, unknown>, keys: string[]): void {
  const width = Math.max(...keys.map((k) => k.length));
  for (const k of keys) process.stdout.write(`${k.padEnd(width)}  ${cell(record[k], k)}\n`);
}

/** `--json` for a command: prints `value` as JSON, or runs `human` to print it for people. */
export function print<T>(json: boolean | undefined, value: T, human: (v: T) => void): void {
  if (json) printJson(value);
  else human(value);
}
