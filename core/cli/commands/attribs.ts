/**
 * `anneal attribs get|set`: attrib values on a node or a deployment (GET/PUT …/attribs/{name}).
 * A set value is proposed: it applies when the node or deployment is committed. The value argument is
 * parsed as JSON (`3`, `true`, `["a","b"]`, `"x"`), falling back to the plain string; `-` reads it from
 * stdin, for secret values (argv is visible to every user in `ps`). Secret values read back as
 * `[redacted]` (the server never returns them).
 */
import type { Command } from 'commander';
import { CliError, seg, type ApiClient } from '../client';
import { print, printFields, printTable } from '../output';
import { readStdin } from '../stdin';

type Scope = 'node' | 'deployment';

interface AttribValue {
  attrib: string;
  scope: Scope;
  targetId: number;
  proposed: unknown;
  committed: unknown;
  hasProposed: boolean;
  hasCommitted: boolean;
}

function scopeOf(raw: string): Scope {
  if (raw === 'node' || raw === 'deployment') return raw;
  throw new CliError(`the first argument is node or deployment, not "${raw}"`, 'ERR_INPUT_INVALID');
}

/** `/nodes/<ref>/attribs[/<name>]`; the name's slash stays a path separator (ntp/servers). */
function attribPath(scope: Scope, ref: string, name?: string): string {
  const base = `/${scope}s/${seg(ref)}/attribs`;
  return name === undefined ? base : `${base}/${name.split('/').map(seg).join('/')}`;
}

/** The JSON of a value, or `-` when that half was never set. */
function shown(has: boolean, value: unknown): string {
  return has ? JSON.stringify(value) : '-';
}

/** JSON when it parses, the string itself otherwise. */
export function parseValue(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}

export function registerAttribs(program: Command, client: () => ApiClient): void {
  const attribs = program
    .command('attribs')
    .description('attrib values on a node or a deployment (set values apply on commit)');
  attribs
    .command('get <scope> <ref> [attrib]')
    .description('values set on a node or deployment (scope: node | deployment), or one attrib')
    .option('--json', 'print JSON')
    .action(async (rawScope: string, ref: string, name: string | undefined, o: { json?: boolean }) => {
      const scope = scopeOf(rawScope);
      if (name === undefined) {
        const items = await client().list<AttribValue>(attribPath(scope, ref));
        return print(o.json, { items }, () =>
          printTable(
            items.map((v) => ({
              attrib: v.attrib,
              committed: shown(v.hasCommitted, v.committed),
              proposed: shown(v.hasProposed, v.proposed),
            })),
            ['attrib', 'committed', 'proposed'],
          ),
        );
      }
      const v = await client().get<AttribValue>(attribPath(scope, ref, name));
      print(o.json, v, () =>
        printFields(
          { ...v, committed: shown(v.hasCommitted, v.committed), proposed: shown(v.hasProposed, v.proposed) },
          ['attrib', 'scope', 'targetId', 'committed', 'proposed'],
        ),
      );
    });
  attribs
    .command('set <scope> <ref> <attrib> <value>')
    .description('propose a value (JSON, else a string; - reads it from stdin); commit to apply it')
    .option('--json', 'print the API answer as JSON')
    .action(async (rawScope: string, ref: string, name: string, raw: string, o: { json?: boolean }) => {
      const scope = scopeOf(rawScope);
      const value = parseValue(raw === '-' ? (await readStdin()).replace(/\n$/, '') : raw);
      const v = await client().put<AttribValue>(attribPath(scope, ref, name), { value });
      print(o.json, v, () => {
        process.stdout.write(`${scope} ${ref}: ${v.attrib} = ${shown(v.hasProposed, v.proposed)} (proposed)\n`);
        process.stderr.write(
          `proposed: run \`anneal ${scope}s commit ${ref}\` to apply` +
            (scope === 'node' ? ' (or `anneal deployments commit` for its deployment)\n' : '\n'),
        );
      });
    });
}
