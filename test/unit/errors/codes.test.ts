import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { errorCodes, type ErrorCode } from '../../../core/errors/codes';

const docPath = path.resolve(__dirname, '../../../docs/errors.md');

interface DocRow {
  code: string;
  status: number;
  kind: string;
  meaning: string;
  whatToDo: string;
  line: number;
}

/** Table rows of docs/errors.md whose first cell is a backticked code. */
function parseCodeRows(text: string): DocRow[] {
  const rows: DocRow[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line.startsWith('|')) return;
    const cells = line
      .slice(1, line.endsWith('|') ? -1 : undefined)
      .split('|')
      .map((c) => c.trim());
    const code = /^`(ERR_[A-Z0-9_]+)`$/.exec(cells[0] ?? '')?.[1];
    if (!code) return;
    rows.push({
      code,
      status: Number(cells[1]),
      kind: cells[2] ?? '',
      meaning: cells[3] ?? '',
      whatToDo: cells[4] ?? '',
      line: i + 1,
    });
  });
  return rows;
}

describe('errors/codes', () => {
  const doc = readFileSync(docPath, 'utf8');
  const rows = parseCodeRows(doc);
  const registry = Object.keys(errorCodes) as ErrorCode[];

  it('documents every registered code in the docs/errors.md table', () => {
    const documented = new Set(rows.map((r) => r.code));
    const missing = registry.filter((code) => !documented.has(code));
    expect(missing, 'codes in core/errors/codes.ts without a row in docs/errors.md').to.deep.equal([]);
  });

  it('mentions no code in docs/errors.md that the registry lacks', () => {
    const mentioned = new Set(doc.match(/ERR_[A-Z_]+/g) ?? []);
    const unknown = [...mentioned].filter((code) => !(code in errorCodes));
    expect(unknown, 'codes in docs/errors.md that core/errors/codes.ts does not define').to.deep.equal([]);
  });

  it('has exactly one table row per code', () => {
    const seen = new Map<string, number[]>();
    for (const r of rows) seen.set(r.code, [...(seen.get(r.code) ?? []), r.line]);
    const duplicated = [...seen]
      .filter(([, lines]) => lines.length > 1)
      .map(([code, lines]) => `${code} (lines ${lines.join(', ')})`);
    expect(duplicated).to.deep.equal([]);
  });

  it('gives each row the HTTP status and kind of the registry', () => {
    const mismatches = rows.flatMap((r) => {
      const spec = errorCodes[r.code as ErrorCode];
      if (!spec) return [];
      const out: string[] = [];
      if (r.status !== spec.status)
        out.push(`${r.code}: doc status ${r.status}, registry ${spec.status} (line ${r.line})`);
      if (r.kind !== spec.kind) out.push(`${r.code}: doc kind "${r.kind}", registry "${spec.kind}" (line ${r.line})`);
      return out;
    });
    expect(mismatches).to.deep.equal([]);
  });

  it('fills in the meaning and what to do for every row', () => {
    const empty = rows.filter((r) => r.meaning === '' || r.whatToDo === '').map((r) => `${r.code} (line ${r.line})`);
    expect(empty).to.deep.equal([]);
  });
});
