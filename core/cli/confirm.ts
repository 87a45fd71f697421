/**
 * Confirmation of destructive or irreversible changes (a delete, any --force). Contract:
 * - `--yes` confirms without asking;
 * - otherwise, when stdin is a terminal, the consequence is printed on stderr and the user confirms by
 *   typing the object's name (`typed`, for deletes) or `y` (everything else);
 * - otherwise (no terminal: a script, a pipe, CI) it refuses.
 * Refused or not confirmed, it throws ERR_CLI_NOT_CONFIRMED with exit code 2 before the caller sends any
 * request: nothing changed on the server.
 */
import { createInterface } from 'node:readline/promises';
import { CliError } from './client';

export const NOT_CONFIRMED = 'ERR_CLI_NOT_CONFIRMED';

export interface Confirmation {
  /** What the change does that cannot be taken back, as a clause: "deleting deployment lab … cannot be undone". */
  consequence: string;
  /** The name the user must type (deletes); without it the question is y/N. */
  typed?: string;
  /** What `typed` is, for the prompt: "the deployment's name". */
  typedWhat?: string;
}

export interface ConfirmIo {
  input: NodeJS.ReadableStream & { isTTY?: boolean };
  output: NodeJS.WritableStream;
}

const notConfirmed = (message: string, fix?: string) => new CliError(message, NOT_CONFIRMED, undefined, fix, 2);

/** Resolves when the change is confirmed; throws ERR_CLI_NOT_CONFIRMED (exit 2) otherwise. */
export async function confirm(
  c: Confirmation,
  yes: boolean | undefined,
  io: ConfirmIo = { input: process.stdin, output: process.stderr },
): Promise<void> {
  if (yes) return;
  if (!io.input.isTTY)
    throw notConfirmed(
      `${c.consequence}, and stdin is not a terminal to confirm it on: nothing was sent`,
      'add --yes to confirm',
    );
  const answer = await ask(
    io,
    `${c.consequence}.\n${c.typed ? `Type ${c.typedWhat ?? 'the name'} (${c.typed}) to confirm: ` : 'Continue? [y/N] '}`,
  );
  if (c.typed ? answer.trim() === c.typed : /^y(es)?$/i.test(answer.trim())) return;
  throw notConfirmed(
    c.typed && answer.trim()
      ? `you typed "${answer.trim()}", not "${c.typed}": nothing was sent`
      : 'not confirmed: nothing was sent',
  );
}

/** One line from the terminal; Ctrl-C or Ctrl-D answer "" (not confirmed). */
async function ask(io: ConfirmIo, question: string): Promise<string> {
  const rl = createInterface({ input: io.input, output: io.output });
  const ac = new AbortController();
  rl.once('SIGINT', () => ac.abort());
  rl.once('close', () => ac.abort());
  try {
    return await rl.question(question, { signal: ac.signal });
  } catch {
    io.output.write('\n');
    return '';
  } finally {
    rl.close();
  }
}
