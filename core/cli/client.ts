/**
 * The CLI's HTTP client for anneal's API at ANNEAL_URL (default http://127.0.0.1:3000), sending
 * ANNEAL_TOKEN as a bearer token. Contract: a non-2xx answer throws CliError carrying the HTTP status,
 * the server's error code and message, plus a fix where the message words it as an API call; a 401 or
 * 403 is worded for the CLI instead (401: ANNEAL_TOKEN unset or not valid, and which token to set; 403:
 * the token's role, what it cannot do, and whom to ask for which token); an unreachable server
 * throws ERR_CLI_UNREACHABLE saying which URL failed and how to point the CLI elsewhere. Nothing is
 * retried: every command is one request or a poll that the caller paces.
 */
export class CliError extends Error {
  constructor(
    message: string,
    readonly code = 'ERR_CLI',
    /** HTTP status of the answer; undefined when no answer came (or the error is the CLI's own). */
    readonly status?: number,
    /** What to do about it, printed after the message on the same line. */
    readonly fix?: string,
    /** The process's exit code: 1 for an error, 2 for a change refused before anything was sent. */
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/**
 * Runs `request`; a CliError whose code is in `fixes` and that has no fix yet is thrown again with that
 * fix (what to do in CLI words for this command), everything else unchanged.
 */
export async function withFixes<T>(request: Promise<T>, fixes: Record<string, string>): Promise<T> {
  try {
    return await request;
  } catch (err) {
    if (err instanceof CliError && !err.fix && fixes[err.code])
      throw new CliError(err.message, err.code, err.status, fixes[err.code], err.exitCode);
    throw err;
  }
}

export interface ApiClient {
  readonly base: string;
  get<T = unknown>(path: string): Promise<T>;
  post<T = unknown>(path: string, body?: unknown): Promise<T>;
  put<T = unknown>(path: string, body?: unknown): Promise<T>;
  delete<T = unknown>(path: string): Promise<T>;
  /** Every item of a paged list route (`{items, offset, limit}`), fetching 1000 at a time. */
  list<T = unknown>(path: string): Promise<T[]>;
}

interface ErrorBody {
  error?: { code?: string; message?: string; details?: { role?: string; needs?: string } };
}

export const UNAUTHENTICATED_FIX =
  'set ANNEAL_TOKEN to a valid token (`anneal tokens create NAME --role operator` by an admin; ' +
  'the first admin token is printed when the server first starts)';

/** The CLI's way to do what an error message words as an API call. */
const CLI_FIXES: Record<string, string> = {
  ERR_POWER_NOT_CONFIGURED: 'with the CLI: `anneal power bmc NODE --address HOST --username USER --password-stdin`',
  ERR_POWER_AUTH: 'with the CLI: `anneal power bmc NODE --username USER --password-stdin`',
  ERR_FORCE_REQUIRED: 'with the CLI: add --force (it asks to confirm; --yes confirms without asking)',
  ERR_FORCE_INVALID: 'run it again without --force',
  ERR_DEPLOYMENT_PROTECTED:
    'move its nodes with `anneal nodes move NODE DEPLOYMENT` or retire them with `anneal nodes delete NODE`',
};

/** A 401 in CLI words: whether ANNEAL_TOKEN was set, and which token to set. */
export function unauthenticated(tokenSet: boolean, root: string): { message: string; fix: string } {
  return {
    message: tokenSet
      ? `ANNEAL_TOKEN is not a valid token at ${root} (unknown or revoked)`
      : `ANNEAL_TOKEN is not set and ${root} needs a token`,
    fix: UNAUTHENTICATED_FIX,
  };
}

/** A 403 in CLI words: what the token's role cannot do, and whom to ask for which token. */
export function forbidden(
  role: string | undefined,
  needs: string | undefined,
  method: string,
  path: string,
): { message: string; fix: string } {
  const who = `your token's role (${role ?? 'unknown'})`;
  if (path.startsWith('/tokens'))
    return { message: `${who} cannot manage tokens`, fix: 'ask an admin to do it, or for an admin token' };
  return {
    message: `${who} cannot ${method} ${path.split('?')[0]}`,
    fix: `ask an admin for an ${needs ?? 'operator'} token`,
  };
}

export function createClient(env: NodeJS.ProcessEnv = process.env): ApiClient {
  const root = (env.ANNEAL_URL ?? 'http://127.0.0.1:3000').replace(/\/$/, '');
  const base = `${root}/api/v2`;

  async function send(method: string, path: string, body?: unknown): Promise<{ res: Response; data: unknown }> {
    let res: Response;
    try {
      res = await fetch(base + path, {
        method,
        headers: {
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(env.ANNEAL_TOKEN ? { authorization: `Bearer ${env.ANNEAL_TOKEN}` } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
      throw new CliError(
        `cannot reach anneal at ${root} (${cause}): start it with \`anneal server\` or set ANNEAL_URL`,
        'ERR_CLI_UNREACHABLE',
      );
    }
    const text = await res.text();
    let data: unknown;
    try {
      data = text ? (JSON.parse(text) as unknown) : undefined;
    } catch {
      throw new CliError(
        `${method} ${base + path} answered HTTP ${res.status} with something other than JSON: is ANNEAL_URL an anneal server?`,
        'ERR_CLI_BAD_ANSWER',
        res.status,
      );
    }
    return { res, data };
  }

  /** The role of the calling token, for the 403 fix; undefined when even whoami fails. */
  async function tokenRole(): Promise<string | undefined> {
    try {
      const { res, data } = await send('GET', '/whoami');
      return res.ok ? (data as { role?: string }).role : undefined;
    } catch {
      return undefined;
    }
  }

  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const { res, data } = await send(method, path, body);
    if (res.ok) return data as T;
    const e = (data as ErrorBody | undefined)?.error;
    const code = e?.code ?? `HTTP_${res.status}`;
    const message = e?.message ?? `${method} ${path} answered HTTP ${res.status}`;
    if (res.status === 401) {
      const u = unauthenticated(Boolean(env.ANNEAL_TOKEN), root);
      throw new CliError(u.message, code, res.status, u.fix);
    }
    if (res.status === 403) {
      const f = forbidden(e?.details?.role ?? (await tokenRole()), e?.details?.needs, method, path);
      throw new CliError(f.message, code, res.status, f.fix);
    }
    const fix = CLI_FIXES[code];
    throw new CliError(message, code, res.status, fix);
  }

  async function list<T>(path: string): Promise<T[]> {
    const all: T[] = [];
    const sep = path.includes('?') ? '&' : '?';
    for (let offset = 0; ; offset += 1000) {
      const page = await call<{ items: T[] }>('GET', `${path}${sep}offset=${offset}&limit=1000`);
      all.push(...page.items);
      if (page.items.length < 1000) return all;
    }
  }

  return {
    base,
    get: (p) => call('GET', p),
    post: (p, b) => call('POST', p, b),
    put: (p, b) => call('PUT', p, b),
    delete: (p) => call('DELETE', p),
    list,
  };
}

/** A path segment from a user's ref (id or name). */
export const seg = (ref: string | number): string => encodeURIComponent(String(ref));
