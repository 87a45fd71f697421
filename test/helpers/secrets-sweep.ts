/**
 * The secrets sweep (issue 5, docs/security.md): record every response the app sends and everything the
 * server logs during an e2e run, crawl every documented read route afterwards, then look for the
 * secrets in all of it — the managed SSH private key (its PEM body, in 24-character pieces, so a partial
 * leak is found too), every BMC password and every API token.
 */
import { Writable } from 'node:stream';
import express, { type Express } from 'express';
import type { RouteDoc } from '../../core/api/route';

export interface Capture {
  where: string;
  text: string;
}

export interface Secret {
  name: string;
  value: string;
}

/** Wraps `app` so every response body it sends is recorded (the outer app adds nothing else). */
export function recordResponses(app: Express): { app: Express; captured: Capture[] } {
  const captured: Capture[] = [];
  const outer = express();
  outer.use((req, res, next) => {
    const chunks: Buffer[] = [];
    const write = res.write.bind(res) as (...a: unknown[]) => boolean;
    const end = res.end.bind(res) as (...a: unknown[]) => unknown;
    const keep = (chunk: unknown, encoding?: unknown) => {
      if (chunk === undefined || chunk === null || typeof chunk === 'function') return;
      chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk), (encoding as BufferEncoding) || 'utf8'));
    };
    res.write = ((chunk: unknown, ...rest: unknown[]) => {
      keep(chunk, rest[0]);
      return write(chunk, ...rest);
    }) as typeof res.write;
    res.end = ((chunk?: unknown, ...rest: unknown[]) => {
      keep(chunk, rest[0]);
      captured.push({
        where: `${req.method} ${req.originalUrl} → ${res.statusCode}`,
        text: Buffer.concat(chunks).toString('utf8'),
      });
      return end(chunk, ...rest);
    }) as typeof res.end;
    next();
  });
  outer.use(app);
  return { app: outer, captured };
}

/** A writable stream that keeps what a logger writes. */
export function logSink(): { stream: Writable; text(): string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      text += chunk.toString('utf8');
      done();
    },
  });
  return { stream, text: () => text };
}

/**
 * GETs every documented read route (except the endless event stream) once per value of each path
 * parameter in `refs` (`ref` is filled with node and deployment refs, `id` with node-role and run ids…).
 * Returns how many requests were sent; the responses reach the recorder through the app.
 */
export async function crawlReads(
  base: string,
  token: string,
  docs: readonly RouteDoc[],
  refs: Record<string, (string | number)[]>,
): Promise<number> {
  let sent = 0;
  for (const doc of docs) {
    if (doc.method !== 'get' || doc.produces === 'text/event-stream') continue;
    const names = [...doc.path.matchAll(/[:*]([A-Za-z_]+)/g)].map((m) => m[1]!);
    let paths = [doc.path];
    for (const n of names) {
      const values = refs[n] ?? ['1'];
      paths = paths.flatMap((p) => values.map((v) => p.replace(new RegExp(`[:*]${n}`), String(v))));
    }
    for (const p of paths) {
      const res = await fetch(`${base}${p}`, { headers: { authorization: `Bearer ${token}` } });
      await res.arrayBuffer();
      sent += 1;
    }
  }
  return sent;
}

/**
 * Pieces of a PEM private key's body: any of them in a capture means (part of) the key leaked. An OpenSSH
 * private key embeds its public key, which is meant to be everywhere (authorized_keys, install configs):
 * pieces that occur in `publicKeyLine` are left out.
 */
export function privateKeyPieces(pem: string, publicKeyLine: string): string[] {
  const body = pem
    .split('\n')
    .filter((l) => l && !l.startsWith('-----'))
    .join('');
  const pieces: string[] = [];
  for (let i = 0; i + 24 <= body.length; i += 24) pieces.push(body.slice(i, i + 24));
  return pieces.filter((p) => !publicKeyLine.includes(p));
}

/** Every (capture, secret) pair where the secret's value occurs in the capture. */
export function findSecrets(captures: readonly Capture[], secrets: readonly Secret[]): string[] {
  const found: string[] = [];
  for (const c of captures) {
    for (const s of secrets) if (s.value && c.text.includes(s.value)) found.push(`${s.name} in ${c.where}`);
  }
  return found;
}
