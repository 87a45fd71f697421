/**
 * Small builders for {@link AttribSpec}s on zod, so manifests read like data:
 * `'ntp/servers': attr.list(z.string(), { description: 'Upstream NTP servers', default: [] })`.
 * Each builder only assembles a spec; defaults are checked against the schema by the registry at boot.
 */
import { z, type ZodType } from 'zod';
import type { AttribSpec } from './manifest';

/** Common options. `default` is optional: without one, the attrib must be set before a wanting role runs. */
export interface AttrOptions<T> {
  description: string;
  default?: T;
}

function spec<T>(schema: ZodType<T>, opts: AttrOptions<T>): AttribSpec<T> {
  const out: AttribSpec<T> = { description: opts.description, schema };
  if (opts.default !== undefined) out.default = opts.default;
  return out;
}

/** A schema from either a zod type or another attrib spec (its schema is reused). */
function schemaOf<T>(item: ZodType<T> | AttribSpec<T>): ZodType<T> {
  return 'schema' in item ? item.schema : item;
}

function isSpec(v: unknown): v is AttribSpec {
  return typeof v === 'object' && v !== null && 'schema' in v;
}

/**
 * Marks a value as secret (redacted in API responses, logs, events and run records). Either wraps
 * another spec — `attr.secret(attr.string({...}))` — or, given plain options, builds a secret string.
 */
function secret<T>(inner: AttribSpec<T>): AttribSpec<T>;
function secret(opts: AttrOptions<string>): AttribSpec<string>;
function secret(arg: AttribSpec | AttrOptions<string>): AttribSpec {
  if (isSpec(arg)) return { ...arg, secret: true };
  return { ...spec(z.string(), arg), secret: true };
}

/** The attrib builders: `attr.string`, `attr.int`, `attr.bool`, `attr.list`, `attr.object`, `attr.enum`, `attr.secret`. */
export const attr = {
  /** A string; `minLength` / `pattern` narrow it. */
  string(opts: AttrOptions<string> & { minLength?: number; pattern?: RegExp }): AttribSpec<string> {
    let s = z.string();
    if (opts.minLength !== undefined) s = s.min(opts.minLength);
    if (opts.pattern !== undefined) s = s.regex(opts.pattern);
    return spec(s, opts);
  },

  /** A safe integer, optionally bounded (inclusive). */
  int(opts: AttrOptions<number> & { min?: number; max?: number }): AttribSpec<number> {
    let s = z.int();
    if (opts.min !== undefined) s = s.min(opts.min);
    if (opts.max !== undefined) s = s.max(opts.max);
    return spec(s, opts);
  },

  bool(opts: AttrOptions<boolean>): AttribSpec<boolean> {
    return spec(z.boolean(), opts);
  },

  /** An array whose items match `item` (a zod type or an attrib spec). */
  list<T>(item: ZodType<T> | AttribSpec<T>, opts: AttrOptions<T[]>): AttribSpec<T[]> {
    return spec(z.array(schemaOf(item)), opts);
  },

  /** An object with exactly these keys (unknown keys are rejected, so typos fail validation). */
  object<S extends z.ZodRawShape>(
    shape: S,
    opts: AttrOptions<z.output<z.ZodObject<S>>>,
  ): AttribSpec<z.output<z.ZodObject<S>>> {
    return spec(z.strictObject(shape), opts);
  },

  /** One of a fixed set of strings. */
  enum<const V extends readonly [string, ...string[]]>(values: V, opts: AttrOptions<V[number]>): AttribSpec<V[number]> {
    return spec(z.enum(values), opts);
  },

  secret,
};
