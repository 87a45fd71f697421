/**
 * One Redfish request to a node's BMC over node:http / node:https, with HTTP Basic auth, and the power
 * driver error contract (core/power/driver.ts) applied to its outcome:
 * - no answer (connection refused or reset, timeout, DNS, no route) → ERR_POWER_UNREACHABLE;
 * - 401 / 403 → ERR_POWER_AUTH;
 * - any other non-2xx, a body that is not JSON, an untrusted TLS certificate → ERR_POWER_FAILED, with the
 *   BMC's Redfish message text.
 * Every message names the node and the BMC address and says what to do. The password is only ever in
 * the Authorization header: never in a message, in details or in a log. No retries here: the caller's
 * keyed limits and the annealer's backoff decide when to try again.
 */
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { AppError } from '../errors';
import type { BmcTarget } from './driver';
import { redfishErrorText } from './redfish-plan';

export interface RedfishHttpOptions {
  /** `https` (default; real BMCs) or `http` (the lab's emulator). */
  protocol: 'http' | 'https';
  /** Accept self-signed or otherwise unverifiable certificates (most BMCs ship one). Default false. */
  acceptSelfSignedCertificates: boolean;
  /** Per request: connect, send and read the whole answer (default 20 s). */
  timeoutMs: number;
}

export interface RedfishResponse {
  status: number;
  headers: IncomingMessage['headers'];
  /** The parsed JSON body; undefined when there was none (204). */
  body: unknown;
}

const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

/** `http://host:port` of the target, for messages (never with credentials). */
export function bmcUrl(t: BmcTarget, o: Pick<RedfishHttpOptions, 'protocol'>): string {
  const host = t.host.includes(':') ? `[${t.host}]` : t.host;
  return `${o.protocol}://${host}:${t.port}`;
}

function where(t: BmcTarget, o: RedfishHttpOptions): string {
  return `the Redfish service of ${t.node}'s BMC at ${bmcUrl(t, o)}`;
}

/**
 * Sends `method path` (a path on the BMC, e.g. /redfish/v1/Systems/1) with an optional JSON body and
 * extra headers; resolves with the 2xx answer, rejects with an AppError per the contract above.
 */
export function redfishRequest(
  t: BmcTarget,
  o: RedfishHttpOptions,
  method: 'GET' | 'POST' | 'PATCH',
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<RedfishResponse> {
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body), 'utf8');
  const opts: RequestOptions & { rejectUnauthorized?: boolean } = {
    host: t.host,
    port: t.port,
    method,
    path,
    auth: `${t.username}:${t.password}`,
    headers: {
      Accept: 'application/json',
      'OData-Version': '4.0',
      ...(payload ? { 'Content-Type': 'application/json', 'Content-Length': String(payload.length) } : {}),
      ...headers,
    },
    agent: false,
  };
  if (o.protocol === 'https') opts.rejectUnauthorized = !o.acceptSelfSignedCertificates;
  const send = o.protocol === 'https' ? httpsRequest : httpRequest;
  const what = `${method} ${path}`;

  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (e: AppError | null, r?: RedfishResponse) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (e) reject(e);
      else resolve(r as RedfishResponse);
    };
    const req = send(opts, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_RESPONSE_BYTES) {
          req.destroy();
          finish(failed(t, o, `${what} answered more than ${MAX_RESPONSE_BYTES} bytes`, res.statusCode));
        } else chunks.push(c);
      });
      res.on('error', (e) => finish(transportError(t, o, what, e)));
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown;
        let json = true;
        try {
          parsed = text.trim() === '' ? undefined : JSON.parse(text);
        } catch {
          json = false;
        }
        if (status === 401 || status === 403) {
          return finish(
            new AppError(
              'ERR_POWER_AUTH',
              `${where(t, o)} rejected the credentials of user ${JSON.stringify(t.username)} (HTTP ${status}${
                json && redfishErrorText(parsed) ? `: ${redfishErrorText(parsed)}` : ''
              }): fix the node's BMC username and password`,
              { details: { node: t.node, bmc: bmcUrl(t, o), status } },
            ),
          );
        }
        if (status < 200 || status > 299) {
          const why = json ? redfishErrorText(parsed) : '';
          const redirect = status >= 300 && status < 400 ? ` to ${String(res.headers.location ?? '?')}` : '';
          return finish(failed(t, o, `${what} answered HTTP ${status}${redirect}${why ? `: ${why}` : ''}`, status));
        }
        if (!json) return finish(failed(t, o, `${what} answered HTTP ${status} with a body that is not JSON`, status));
        finish(null, { status, headers: res.headers, body: parsed });
      });
    });
    const timer = setTimeout(() => {
      req.destroy();
      finish(
        new AppError(
          'ERR_POWER_UNREACHABLE',
          `${where(t, o)} did not answer ${what} within ${o.timeoutMs} ms: check that the BMC is powered and reachable on the management network`,
          { details: { node: t.node, bmc: bmcUrl(t, o), reason: 'timeout' } },
        ),
      );
    }, o.timeoutMs);
    req.on('error', (e) => finish(transportError(t, o, what, e)));
    req.end(payload);
  });
}

function failed(t: BmcTarget, o: RedfishHttpOptions, text: string, status?: number): AppError {
  return new AppError(
    'ERR_POWER_FAILED',
    `${where(t, o)}: ${text}; check the BMC's own log, or try the request again once the BMC is idle`,
    { details: { node: t.node, bmc: bmcUrl(t, o), ...(status === undefined ? {} : { status }) } },
  );
}

/** A socket or TLS failure: unreachable, unless the BMC answered and the TLS handshake failed. */
function transportError(t: BmcTarget, o: RedfishHttpOptions, what: string, e: Error): AppError {
  const code = (e as NodeJS.ErrnoException).code ?? '';
  const details = { node: t.node, bmc: bmcUrl(t, o), reason: code || e.message };
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|DEPTH_ZERO|ALTNAME|HOSTNAME/.test(code)) {
    return new AppError(
      'ERR_POWER_FAILED',
      `${where(t, o)} presented a TLS certificate that is not trusted (${code}): install a trusted certificate on the BMC, or enable acceptSelfSignedCertificates for this driver`,
      { details },
    );
  }
  if (code === 'EPROTO' || code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS')) {
    return new AppError(
      'ERR_POWER_FAILED',
      `${where(t, o)}: the TLS handshake failed (${code}): check whether the BMC speaks https or http on port ${t.port}`,
      { details },
    );
  }
  return new AppError(
    'ERR_POWER_UNREACHABLE',
    `${where(t, o)} did not answer ${what} (${code || e.message}): check the BMC address and port, that the BMC is powered, and the management network`,
    { details },
  );
}
