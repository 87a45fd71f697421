/**
 * Request parsing for the routes: bodies and queries through zod schemas, path refs, pagination.
 * Every helper either returns typed data or throws one AppError ERR_INPUT_INVALID (400) whose
 * `details.issues` lists every failing field at once as `{field, message}`, the message saying what
 * was expected. Nothing here touches the store.
 */
import { z, type ZodType } from 'zod';
import { inputError, type FieldIssue } from '../errors';
import { bmcDriverNames } from '../domain/vocabulary';

/** Largest id a path or body may name (ids are 32-bit integers in both engines). */
export const MAX_ID = 2_147_483_647;
/** Longest name or ref accepted anywhere (the DNS limit for a full host name). */
export const MAX_NAME = 253;
/** Page size when `?limit` is absent, and the largest one allowed. */
export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;

// eslint-disable-next-line no-control-regex
const controlChars = /[\u0000-\u001f\u007f-\u009f]/;
const label = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const hostNamePattern = new RegExp(`^${label}(?:\\.${label})*$`);
const macPattern = /^[0-9a-f]{2}([:-])[0-9a-f]{2}(?:\1[0-9a-f]{2}){4}$/i;

/** `macs[1]`, `parent`, `body` (for the root): the field name a client sees in an issue. */
function fieldName(path: readonly PropertyKey[], root: string): string {
  if (path.length === 0) return root;
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('');
}

/** zod issues as field issues; an unknown key becomes one issue per key naming the accepted fields. */
export function zodIssues(error: z.ZodError, root: string, known: readonly string[] = []): FieldIssue[] {
  return error.issues.flatMap((i): FieldIssue[] => {
    if (i.code === 'unrecognized_keys') {
      const expected = known.length ? `; expected only: ${known.join(', ')}` : '';
      return i.keys.map((k) => ({ field: fieldName([...i.path, k], root), message: `unknown field${expected}` }));
    }
    const message = i.message.replace(/^Invalid input: /, '');
    return [{ field: fieldName(i.path, root), message }];
  });
}

function knownKeys(schema: ZodType): string[] {
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
}

/**
 * Validates a JSON body. A missing or non-object body is one issue on `body` that says to send a
 * JSON object with `Content-Type: application/json`.
 */
export function parseBody<S extends ZodType>(schema: S, body: unknown): z.output<S> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw inputError([{ field: 'body', message: 'expected a JSON object (send Content-Type: application/json)' }]);
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw inputError(zodIssues(parsed.error, 'body', knownKeys(schema)));
  return parsed.data;
}

/** Validates `req.query` (unknown parameters are ignored). Issues name the query parameter. */
export function parseQuery<S extends ZodType>(schema: S, query: unknown): z.output<S> {
  const parsed = schema.safeParse(query ?? {});
  if (!parsed.success) throw inputError(zodIssues(parsed.error, 'query'));
  return parsed.data;
}

function refIssue(value: unknown): string | null {
  if (typeof value !== 'string' || value === '') return 'expected an id or a name, got nothing';
  if (value.length > MAX_NAME) return `expected an id or a name of at most ${MAX_NAME} characters`;
  if (controlChars.test(value)) return 'expected an id or a name without control characters';
  if (/^\d+$/.test(value) && Number(value) > MAX_ID) return `expected an id up to ${MAX_ID} or a name`;
  return null;
}

/**
 * An id-or-name reference from a path or query: all digits → numeric id, anything else → name.
 * Throws ERR_INPUT_INVALID naming `field` when empty, over 253 characters, or with control characters.
 */
export function parseRef(value: unknown, field = 'ref'): number | string {
  const problem = refIssue(value);
  if (problem) throw inputError([{ field, message: problem }]);
  const s = value as string;
  return /^\d+$/.test(s) ? Number(s) : s;
}

/** A numeric id from a path (`/node-roles/:id`); anything else is ERR_INPUT_INVALID naming `field`. */
export function parseId(value: unknown, field = 'id'): number {
  if (typeof value !== 'string' || !/^\d{1,10}$/.test(value) || Number(value) > MAX_ID) {
    throw inputError([{ field, message: `expected a numeric id between 0 and ${MAX_ID}` }]);
  }
  return Number(value);
}

/** A whole number in a query string, within bounds. */
export function queryInt(min: number, max: number) {
  return z
    .string({ error: `expected a whole number between ${min} and ${max}` })
    .regex(/^\d{1,10}$/, `expected a whole number between ${min} and ${max}`)
    .transform(Number)
    .refine((n) => n >= min && n <= max, `expected a whole number between ${min} and ${max}`);
}

export const pageQuery = z.object({
  offset: queryInt(0, MAX_ID).optional(),
  limit: queryInt(1, MAX_LIMIT).optional(),
});

/** `?force=true` of the routes that take a thing away: delete the records without running remove actions. */
export const forceQuery = z.object({
  force: z
    .enum(['true', 'false'], { error: 'expected true or false' })
    .transform((v) => v === 'true')
    .optional(),
});

/** `{"force": true}` in a body: run or remove anyway (destructive re-runs, removals without remove actions). */
export const force = z.boolean({ error: 'expected true or false' });

export interface Page {
  offset: number;
  limit: number;
}

/**
 * The page of a query a route already parsed with `pageQuery` (or an extension of it): `?offset` default 0,
 * `?limit` default 100 (at most 1000, enforced by the schema).
 */
export function pageFrom(q: { offset?: number; limit?: number }): Page {
  return { offset: q.offset ?? 0, limit: q.limit ?? DEFAULT_LIMIT };
}

/** Schema for an id-or-name reference inside a body: a positive integer or a non-empty name string. */
export function refSchema(what: string) {
  return z.unknown().transform((v, ctx): number | string => {
    if (typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= MAX_ID) return v;
    if (typeof v === 'string' && refIssue(v) === null) return /^\d+$/.test(v) ? Number(v) : v;
    ctx.addIssue({ code: 'custom', message: `expected a ${what} id (positive integer) or name` });
    return z.NEVER;
  });
}

/**
 * A host-style name: lowercase letters, digits, hyphens and dots, labels of 1–63 characters, not
 * only digits (those are ids), at most `max` characters.
 */
export function hostName(max = MAX_NAME) {
  const expected = `expected a lowercase name of letters, digits, hyphens and dots (e.g. node-1.example.com), at most ${max} characters, not only digits`;
  return z
    .string({ error: expected })
    .max(max, expected)
    .regex(hostNamePattern, expected)
    .refine((s) => !/^[\d.]+$/.test(s), expected);
}

/** A MAC address with `:` or `-` separators, normalised to lower case with colons. */
export const macAddress = z
  .string({ error: 'expected a MAC address like 52:54:00:12:34:56' })
  .regex(macPattern, 'expected a MAC address like 52:54:00:12:34:56')
  .transform((m) => m.toLowerCase().replaceAll('-', ':'));

const isHost = (s: string) =>
  z.ipv4().safeParse(s).success ||
  z.ipv6().safeParse(s).success ||
  (s.length <= MAX_NAME && hostNamePattern.test(s.toLowerCase()));

/** A management address: an IPv4 or IPv6 address or a host name. */
export const hostAddress = z
  .string({ error: 'expected an IPv4 or IPv6 address or a host name' })
  .refine(isHost, 'expected an IPv4 or IPv6 address or a host name');

/**
 * A BMC address: a host (as above), optionally with a port (`10.0.0.5:623`, `[fd00::5]:623`) — lab
 * BMCs and some real ones listen on a port other than IPMI's 623.
 */
export const bmcAddress = z
  .string({ error: 'expected an IPv4 or IPv6 address or a host name, optionally with :port' })
  .refine((s) => {
    const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(s);
    if (!m) return isHost(s);
    const port = Number(m[3]);
    return port >= 1 && port <= 65535 && isHost(m[1] ?? m[2]!);
  }, 'expected an IPv4 or IPv6 address or a host name, optionally with :port');

export const bmcUsername = z
  .string({ error: 'expected a BMC user name' })
  .regex(/^[A-Za-z0-9._@-]{1,64}$/, 'expected a BMC user name (letters, digits, . _ @ -; at most 64)');

/** A BMC password (stored as a node secret, never returned). */
export const bmcPassword = z
  .string({ error: 'expected the BMC password as a string' })
  .min(1, 'expected a non-empty password (null removes it)')
  .max(256, 'expected a password of at most 256 characters')
  .refine((s) => !/[\0\n\r]/.test(s), 'expected a password without NUL or line breaks');

export const bmcDriver = z.enum(bmcDriverNames, { error: `expected one of: ${bmcDriverNames.join(', ')}` });

/** Free text: at most 4096 characters. */
export const description = z.string().max(4096, 'expected text of at most 4096 characters');
