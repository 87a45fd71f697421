/**
 * A server-sent-events reader over fetch, for tests: collects parsed messages (`id`, `event`, `data` as
 * JSON) and waits for one that matches. Close it to end the request.
 */
export interface SseMessage {
  id: string | null;
  event: string;
  data: Record<string, unknown>;
}

export interface SseReader {
  status: number;
  headers: Headers;
  messages: SseMessage[];
  /** Raw text received so far (comments included). */
  raw(): string;
  waitFor(match: (m: SseMessage) => boolean, timeoutMs?: number): Promise<SseMessage>;
  close(): void;
}

export async function openSse(url: string, headers: Record<string, string> = {}): Promise<SseReader> {
  const abort = new AbortController();
  const res = await fetch(url, { headers, signal: abort.signal });
  const messages: SseMessage[] = [];
  const waiters: (() => void)[] = [];
  let text = '';
  let pending = '';
  void (async () => {
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        const chunk = decoder.decode(value, { stream: true });
        text += chunk;
        pending += chunk;
        let end: number;
        while ((end = pending.indexOf('\n\n')) >= 0) {
          const block = pending.slice(0, end);
          pending = pending.slice(end + 2);
          const fields = new Map<string, string>();
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) continue;
            const i = line.indexOf(': ');
            if (i > 0) fields.set(line.slice(0, i), line.slice(i + 2));
          }
          if (fields.has('data')) {
            messages.push({
              id: fields.get('id') ?? null,
              event: fields.get('event') ?? 'message',
              data: JSON.parse(fields.get('data')!) as Record<string, unknown>,
            });
            waiters.splice(0).forEach((w) => w());
          }
        }
      }
    } catch {
      /* aborted */
    }
  })();
  return {
    status: res.status,
    headers: res.headers,
    messages,
    raw: () => text,
    async waitFor(match, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = messages.find(match);
        if (found) return found;
        const left = deadline - Date.now();
        if (left <= 0) {
          throw new Error(`no matching event within ${timeoutMs} ms; got: ${messages.map((m) => m.event).join(', ')}`);
        }
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(t);
            resolve();
          });
        });
      }
    },
    close: () => abort.abort(),
  };
}
