/**
 * `anneal node-roles list|show|runs|retry|rerun`: a role bound to a node, the annealer's unit of work.
 * Reads take `--json` (the API's answer unchanged). `retry` takes a node-role in error back to todo, or
 * one in remove-error back to removing (ERR_STATE_INVALID otherwise); `rerun` runs an active or failed
 * one again, then what depends on it. A destructive role (RAID, BIOS) that already ran re-runs only with
 * `--force` (ERR_FORCE_REQUIRED without), which asks to confirm (confirm.ts); --force on any other role
 * is ERR_FORCE_INVALID.
 */
import type { Command } from 'commander';
import { CliError, type ApiClient } from '../client';
import { confirm } from '../confirm';
import { cell, print, printFields, printTable } from '../output';
import { tail } from './converge-failures';

type Client = () => ApiClient;
type Row = Record<string, unknown>;

/** A node-role id from argv: a positive whole number. */
function nodeRoleId(raw: string): number {
  const id = Number(raw);
  if (!Number.isInteger(id) || id < 1)
    throw new CliError(
      `node-role ids are whole numbers above 0, not "${raw}": find them with \`anneal node-roles list\``,
      'ERR_INPUT_INVALID',
    );
  return id;
}

/** A run as one table row: duration in seconds and the error's code. */
function runRow(r: Row): Row {
  const started = r.startedAt as number;
  const ended = r.endedAt as number | null;
  return {
    ...r,
    duration: ended === null ? 'running' : `${((ended - started) / 1000).toFixed(1)}s`,
    error: (r.error as { code?: string } | null)?.code ?? null,
  };
}

export function registerNodeRoles(program: Command, client: Client): void {
  const nodeRoles = program
    .command('node-roles')
    .description('list, inspect, retry and re-run node-roles (a role bound to a node)');
  nodeRoles
    .command('list')
    .description('list node-roles, filtered by deployment, node, role and state')
    .option('--deployment <deployment>', 'id or name')
    .option('--node <node>', 'id or name')
    .option('--role <role>', 'role name')
    .option('--state <state>', 'proposed | blocked | todo | transition | active | error | removing | remove-error')
    .option('--json', 'print JSON')
    .action(async (o: { deployment?: string; node?: string; role?: string; state?: string; json?: boolean }) => {
      const q = new URLSearchParams();
      for (const k of ['deployment', 'node', 'role', 'state'] as const) if (o[k]) q.set(k, o[k]!);
      const items = await client().list<Row>(`/node-roles${q.size ? `?${q}` : ''}`);
      print(o.json, { items }, () =>
        printTable(items, ['id', 'deployment', 'node', 'role', 'state', 'attempts', 'runCount', 'updatedAt']),
      );
    });
  nodeRoles
    .command('show <id>')
    .description('show one node-role, with its last error')
    .option('--json', 'print JSON')
    .action(async (raw: string, o: { json?: boolean }) => {
      const nr = await client().get<Row>(`/node-roles/${nodeRoleId(raw)}`);
      print(o.json, nr, () => {
        const err = nr.lastError as { code: string; message: string } | null;
        printFields({ ...nr, lastError: err ? `${err.message} [${err.code}]` : null }, [
          'id',
          'deployment',
          'node',
          'role',
          'state',
          'cohort',
          'attempts',
          'runCount',
          'generation',
          'observedGeneration',
          'nextRunAt',
          'updatedAt',
          'lastError',
        ]);
      });
    });
  nodeRoles
    .command('runs <id>')
    .description("the node-role's runs, oldest first; --last prints the last one's output tails")
    .option('--last', "print the last run's error, stdout and stderr tails")
    .option('--json', 'print JSON')
    .action(async (raw: string, o: { last?: boolean; json?: boolean }) => {
      const items = await client().list<Row>(`/node-roles/${nodeRoleId(raw)}/runs`);
      const last = items.at(-1);
      if (o.last) {
        if (!last) throw new CliError(`node-role ${raw} has not run yet`, 'ERR_RUN_NOT_FOUND');
        return print(o.json, last, () => {
          const r = runRow(last);
          printFields({ ...r, error: (last.error as { message?: string } | null)?.message }, [
            'id',
            'attempt',
            'status',
            'worker',
            'startedAt',
            'duration',
            'exitCode',
            'error',
          ]);
          for (const stream of ['stdoutTail', 'stderrTail'] as const) {
            const lines = tail(String(last[stream] ?? ''));
            process.stdout.write(`${stream}:${lines.length ? '' : ' -'}\n`);
            for (const l of lines) process.stdout.write(`  ${l}\n`);
          }
        });
      }
      print(o.json, { items }, () =>
        printTable(items.map(runRow), ['id', 'attempt', 'status', 'startedAt', 'duration', 'exitCode', 'error']),
      );
    });
  nodeRoles
    .command('retry <id>')
    .description(
      'after fixing the cause: take a node-role in error back to todo, or one in remove-error back to removing',
    )
    .option('--json', 'print the API answer as JSON')
    .action(async (raw: string, o: { json?: boolean }) => {
      const nr = await client().post<Row>(`/node-roles/${nodeRoleId(raw)}/retry`);
      print(o.json, nr, () =>
        process.stdout.write(`node-role ${cell(nr.id)} (${cell(nr.role)} on ${cell(nr.node)}): ${cell(nr.state)}\n`),
      );
    });
  nodeRoles
    .command('rerun <id>')
    .description(
      'run an active or failed node-role again, then every node-role that depends on it ' +
        '(a destructive role that ran needs --force)',
    )
    .option('--force', 're-run a destructive role (RAID, BIOS) that already ran; asks to confirm')
    .option('--yes', 'confirm --force without asking (needed without a terminal)')
    .option('--json', 'print the API answer as JSON')
    .action(async (raw: string, o: { force?: boolean; yes?: boolean; json?: boolean }) => {
      const id = nodeRoleId(raw);
      if (o.force)
        await confirm(
          {
            consequence: `re-running node-role ${id} with --force runs its destructive role again (settings it made are made anew; data it wiped, such as disks under RAID, is lost again)`,
          },
          o.yes,
        );
      const res = await client().post<{ nodeRole: number; rerun: number[] }>(
        `/node-roles/${id}/rerun`,
        o.force ? { force: true } : undefined,
      );
      print(o.json, res, () =>
        process.stdout.write(
          `node-role ${res.nodeRole} runs again, with what depends on it: node-roles ${res.rerun.join(', ')}\n`,
        ),
      );
    });
}
