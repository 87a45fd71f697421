/**
 * The CLI's HTTP client for anneal's API at ANNEAL_URL (default http://127.0.0.1:3000). Contract: a
 * non-2xx answer throws CliError carrying the server's error code and message; an unreachable server
 * throws CliError saying which URL failed and how to point the CLI elsewhere.
 */
export class CliError extends Error {
  constructor(
    message: string,
    readonly code = 'ERR_CLI',
  ) {
    super(message);
  }
}

export interface ApiClient {
  readonly base: string;
  get<T = unknown>(path: string): Promise<T>;
  post<T = unknown>(path: string, body?: unknown): Promise<T>;
}

export function createClient(env: NodeJS.ProcessEnv = process.env): ApiClient {
  const root = (env.ANNEAL_URL ?? 'http://127.0.0.1:3000').replace(/\/$/, '');
  const base = `${root}/api/v2`;
  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
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
    const data = text ? (JSON.parse(text) as unknown) : undefined;
    if (!res.ok) {
      const e = (data as { error?: { code?: string; message?: string } } | undefined)?.error;
      throw new CliError(e?.message ?? `HTTP ${res.status}`, e?.code ?? `HTTP_${res.status}`);
    }
    return data as T;
  }
  return { base, get: (p) => call('GET', p), post: (p, b) => call('POST', p, b) };
}
