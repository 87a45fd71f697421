/**
 * The real anneal server (`node --import tsx core/main.ts`, what `npm start` and `anneal server` run) as a
 * child process of `anneal demo`. Its output (JSON log lines) is appended to a log file with every
 * occurrence of the given secrets replaced by `[redacted]`; the last lines are kept for error messages.
 *
 * Contract: `startDemoServer` resolves once GET /api/v2/health answers 200 on 127.0.0.1; it rejects
 * (CliError ERR_CLI) with the server's own last words when it exits first, or when it does not answer
 * within `timeoutMs` (then it is stopped). `stop` sends SIGTERM (a clean shutdown), waits up
 * to 35 s (the server's own shutdown limit is 30 s), then SIGKILLs its process group; safe to call twice.
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { CliError } from './client';

const repoRoot = path.resolve(__dirname, '../..');
/** Longer than the server's own shutdown limit (core/main.ts SHUTDOWN_TIMEOUT_MS). */
const STOP_GRACE_MS = 35_000;
const TAIL_LINES = 15;

export interface DemoServer {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  readonly pid: number;
  /** Resolves when the process has exited, whoever stopped it. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Why it stopped, in one line: its `anneal: …` line or the error it threw, else its last lines. */
  summary(): string;
  stop(): Promise<void>;
}

export interface DemoServerOptions {
  port: number;
  /** Environment on top of this process's (PORT is set from `port`). */
  env: Record<string, string>;
  logFile: string;
  /** Strings never written to the log file or shown (the admin token). */
  secrets: string[];
  timeoutMs?: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The message of the last warning or error among pino's JSON log lines (level 40 and up). */
function lastWarning(lines: string[]): string | undefined {
  for (const line of [...lines].reverse()) {
    try {
      const entry = JSON.parse(line) as { level?: number; msg?: string };
      if ((entry.level ?? 0) >= 40 && entry.msg) return entry.msg;
    } catch {
      /* not a log line */
    }
  }
  return undefined;
}

export async function startDemoServer(opts: DemoServerOptions): Promise<DemoServer> {
  const env: NodeJS.ProcessEnv = { ...process.env, ...opts.env, PORT: String(opts.port) };
  // The CLI's own settings are not the server's; test fixtures stay out of a demo.
  for (const k of ['ANNEAL_URL', 'ANNEAL_TOKEN', 'ANNEAL_FIXTURES']) delete env[k];
  const log = createWriteStream(opts.logFile, { flags: 'a', mode: 0o600 });
  // Detached: its own process group, so a Ctrl-C in the terminal reaches only the demo, which then stops
  // the server in order (server first, then the lab).
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'core/main.ts')], {
    cwd: repoRoot,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const redact = (s: string) =>
    opts.secrets.reduce((t, secret) => (secret ? t.split(secret).join('[redacted]') : t), s);
  const collect = (chunk: Buffer) => {
    const text = redact(chunk.toString());
    log.write(text);
    lines.push(...text.split('\n').filter(Boolean));
    lines.splice(0, Math.max(0, lines.length - TAIL_LINES));
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      done = true;
      resolve({ code, signal });
    });
    child.once('error', (err) => {
      lines.push(`cannot start ${process.execPath}: ${err.message}`);
      done = true;
      resolve({ code: null, signal: null });
    });
  });
  void exited.then(() => log.end());
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      if (child.pid) process.kill(-child.pid, signal);
    } catch {
      /* already gone */
    }
  };
  const url = `http://127.0.0.1:${opts.port}`;
  const server: DemoServer = {
    url,
    pid: child.pid ?? 0,
    exited,
    summary: () => {
      const why = lines.findLast((l) => /^anneal: |^[A-Za-z]*(Error|Exception)\b/.test(l)) ?? lastWarning(lines);
      return `${why ?? 'no error in its output'} (log: ${opts.logFile})`;
    },
    async stop() {
      if (!done) child.kill('SIGTERM');
      const timer = setTimeout(() => killGroup('SIGKILL'), STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
      // Whatever it left in its group (a role's script still running) goes with it.
      killGroup('SIGKILL');
    },
  };
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  for (;;) {
    if (done) {
      const { code, signal } = await exited;
      throw new CliError(`the server exited (${signal ?? `code ${code}`}) before answering: ${server.summary()}`);
    }
    const res = await fetch(`${url}/api/v2/health`, { signal: AbortSignal.timeout(1_000) }).catch(() => null);
    if (res?.ok) return server;
    if (Date.now() > deadline) {
      await server.stop();
      throw new CliError(
        `the server did not answer on ${url} within ${opts.timeoutMs ?? 60_000} ms (log: ${opts.logFile})`,
      );
    }
    await sleep(100);
  }
}
