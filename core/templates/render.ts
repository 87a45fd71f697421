/**
 * The config/script template renderer (DESIGN §4). The ONLY module that imports handlebars.
 *
 * Each renderer owns an isolated handlebars instance compiled with:
 * - `strict: true` — `{{node.nmae}}` on a missing value throws instead of printing nothing;
 * - `noEscape: true` — we render shell scripts and config files, not HTML;
 * - `knownHelpersOnly: true` — a misspelt helper (`{{shqq x}}`) fails at compile time, i.e. at boot.
 *
 * Helpers:
 * - `{{shq v}}` POSIX single-quoted shell word(s); arrays become several quoted words. Use it for
 *   every value spliced into a shell command: no attrib value is ever spliced unquoted.
 * - `{{json v}}` / `{{json v 2}}` JSON, optionally indented.
 * - `{{yaml v}}` YAML document (ends with a newline).
 * - `{{join list ", "}}` joins scalars with a separator (default one space). Not shell-safe.
 * All four reject `undefined`/`null` (a missing value), so `{{shq (lookup attribs "ntp/servers")}}`
 * fails loudly when the attrib is absent. Attrib names contain `/`, so templates read them with
 * `lookup attribs "<plugin>/<name>"` (or `attribs.[ntp/servers]`).
 *
 * Handlebars only checks strictness on direct output; `{{#if x}}` on a missing `x` is simply false.
 *
 * The data shape the annealer passes for role templates is `RoleTemplateData` in
 * core/plugins/registry.ts: `{ node, role, deployment, attribs }`.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import Handlebars from 'handlebars';
import YAML from 'yaml';
import { AppError } from '../errors';

/** Compiles and renders template files. Compiled templates are cached by absolute path. */
export interface TemplateRenderer {
  /**
   * Reads and compiles a template (cached; compiling twice is a no-op). Throws AppError
   * ERR_PLUGIN_TEMPLATE naming the file and the handlebars message if it is missing, not absolute
   * or does not compile.
   */
  compileFile(absPath: string): void;
  /**
   * Renders a template, compiling it first if needed (which may throw ERR_PLUGIN_TEMPLATE). Throws
   * AppError ERR_TEMPLATE_RENDER naming the template, the position and the missing value (or the
   * helper's complaint) when rendering fails; `details` is `{template, line?, column?, missing?}`.
   */
  renderFile(absPath: string, data: object): string;
}

const compileOptions = {
  strict: true,
  noEscape: true,
  knownHelpers: { shq: true, json: true, yaml: true, join: true },
  knownHelpersOnly: true,
} as const;

function renderError(message: string): AppError {
  return new AppError('ERR_TEMPLATE_RENDER', message);
}

function describe(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
}

/**
 * POSIX shell quoting: returns `value` as a single-quoted word (`'` inside becomes `'\''`), safe to
 * splice anywhere a word is expected. Numbers, bigints and booleans are stringified first; an array
 * becomes its items quoted and separated by single spaces (an empty array gives ''). Throws AppError
 * ERR_TEMPLATE_RENDER for null/undefined (a missing value), objects (use `json` first) and strings
 * containing NUL bytes (no shell can pass them).
 */
export function shellQuote(value: unknown): string {
  if (Array.isArray(value)) return value.map((v) => shellQuote(v)).join(' ');
  if (typeof value === 'string') {
    if (value.includes('\0')) throw renderError('shq: value contains a NUL byte, which a shell cannot carry');
    return `'${value.replaceAll("'", "'\\''")}'`;
  }
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') {
    return shellQuote(String(value));
  }
  if (value === undefined || value === null) throw renderError(`shq: value is ${describe(value)} (a missing value?)`);
  throw renderError(`shq: cannot quote a ${describe(value)}; convert it first, e.g. (json value)`);
}

/** Handlebars passes its options object last; drop it. */
function params(args: unknown[]): unknown[] {
  return args.slice(0, -1);
}

function required(helper: string, value: unknown): unknown {
  if (value === undefined || value === null)
    throw renderError(`${helper}: value is ${describe(value)} (a missing value?)`);
  return value;
}

function registerHelpers(hb: typeof Handlebars): void {
  hb.registerHelper('shq', (...args: unknown[]) => {
    const [value] = params(args);
    return shellQuote(value);
  });
  hb.registerHelper('json', (...args: unknown[]) => {
    const [value, indent] = params(args);
    return JSON.stringify(required('json', value), null, typeof indent === 'number' ? indent : undefined);
  });
  hb.registerHelper('yaml', (...args: unknown[]) => {
    const [value] = params(args);
    return YAML.stringify(required('yaml', value));
  });
  hb.registerHelper('join', (...args: unknown[]) => {
    const [list, sep] = params(args);
    if (!Array.isArray(list)) throw renderError(`join: expected an array, got ${describe(list)}`);
    return list
      .map((item: unknown) => {
        if (item === null || typeof item === 'object' || item === undefined) {
          throw renderError(`join: cannot join a ${describe(item)} item`);
        }
        return String(item);
      })
      .join(typeof sep === 'string' ? sep : ' ');
  });
}

/** Handlebars exceptions carry `lineNumber` / `column`; its strict-mode message is `"x" not defined in …`. */
function position(err: unknown): { line?: number; column?: number; missing?: string; text: string } {
  const e = err as { message?: unknown; lineNumber?: unknown; column?: unknown };
  const raw = typeof e.message === 'string' ? e.message : String(err);
  const missing = /^"([^"]+)" not defined in /.exec(raw)?.[1];
  const out: { line?: number; column?: number; missing?: string; text: string } = {
    text: missing === undefined ? raw : `missing value "${missing}"`,
  };
  if (typeof e.lineNumber === 'number') out.line = e.lineNumber;
  if (typeof e.column === 'number') out.column = e.column + 1; // handlebars columns are 0-based
  if (missing !== undefined) out.missing = missing;
  return out;
}

/** Creates a renderer with its own handlebars instance, helpers and compile cache. */
export function createTemplateRenderer(): TemplateRenderer {
  const hb = Handlebars.create();
  registerHelpers(hb);
  const cache = new Map<string, { run: Handlebars.TemplateDelegate; lines: string[] }>();

  const compileFile = (absPath: string): void => {
    if (cache.has(absPath)) return;
    if (!isAbsolute(absPath)) {
      throw new AppError('ERR_PLUGIN_TEMPLATE', `template "${absPath}": path must be absolute`);
    }
    let source: string;
    try {
      source = readFileSync(absPath, 'utf8');
    } catch (err) {
      const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file does not exist' : String(err);
      throw new AppError('ERR_PLUGIN_TEMPLATE', `template "${absPath}": ${reason}`, { details: { template: absPath } });
    }
    try {
      // NOTE: compile() is lazy; precompile() parses and compiles eagerly so errors surface at boot.
      hb.precompile(source, compileOptions);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      throw new AppError('ERR_PLUGIN_TEMPLATE', `template "${absPath}" does not compile: ${message}`, {
        details: { template: absPath },
      });
    }
    cache.set(absPath, { run: hb.compile(source, compileOptions), lines: source.split('\n') });
  };

  const renderFile = (absPath: string, data: object): string => {
    compileFile(absPath);
    const entry = cache.get(absPath);
    if (entry === undefined) throw new AppError('ERR_INTERNAL', `template "${absPath}" vanished from the cache`);
    try {
      return entry.run(data);
    } catch (err) {
      const pos = position(err);
      const at =
        pos.line === undefined ? '' : ` at line ${pos.line}${pos.column === undefined ? '' : `:${pos.column}`}`;
      const src = pos.line === undefined ? undefined : entry.lines[pos.line - 1]?.trim();
      const snippet = src ? ` in \`${src}\`` : '';
      const { text, ...where } = pos;
      throw new AppError('ERR_TEMPLATE_RENDER', `template "${absPath}"${at}: ${text}${snippet}`, {
        details: { template: absPath, ...where },
        cause: err,
      });
    }
  };

  return { compileFile, renderFile };
}
