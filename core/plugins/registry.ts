/**
 * The plugin registry (DESIGN §4): validates every barclamp and workload manifest at boot and
 * exposes the resulting role graph and attrib catalogue, frozen.
 *
 * Contract: {@link loadRegistry} either returns a complete registry or throws ONE AppError listing
 * every problem found (not just the first). Each problem names the plugin, the role or attrib, and
 * the field, e.g. `plugin "ntp" role "ntp-client" field requires: role "ntp-server" is not declared
 * by any plugin`.
 *
 * Templates: for a role with jig `local`/`ssh` and no `actions.apply`, the default apply renders
 * `<dir>/templates/<role>.sh.hbs` (see {@link LoadedRole.scriptTemplate}) with
 * {@link RoleTemplateData} — `{ node, role, deployment, attribs }` — and runs the result.
 * `ctx.render(template)` without data uses the same shape.
 */
import { isAbsolute, join, resolve, sep } from 'node:path';
import { z, type ZodType } from 'zod';
import { depths, findCycle, topoSort } from '../domain/graph';
import { jigNames, roleFlags, type JigName, type RoleFlag } from '../domain/vocabulary';
import { AppError, notFound, type ErrorCode, type FieldIssue } from '../errors';
import { createTemplateRenderer, type TemplateRenderer } from '../templates/render';
import type { NodeView, PluginManifest, RoleContext, RoleSpec } from './manifest';

/** Default per-run timeout when a role sets none: 10 minutes. */
export const DEFAULT_ROLE_TIMEOUT_MS = 600_000;

/** One validation failure. `message` is the full sentence, starting with plugin/role/attrib/field. */
export interface PluginProblem {
  code: ErrorCode;
  plugin: string;
  role?: string;
  attrib?: string;
  field: string;
  message: string;
}

/** A validated role. Arrays and the flag set are frozen; `spec` is the manifest's own object. */
export interface LoadedRole {
  name: string;
  plugin: string;
  pluginKind: PluginManifest['kind'];
  description: string;
  requires: readonly string[];
  precedes: readonly string[];
  flags: ReadonlySet<RoleFlag>;
  wants: readonly string[];
  jig: JigName;
  timeoutMs: number;
  transientExitCodes: readonly number[];
  /** Layer index over `requires`: 0 without requires, else 1 + the largest cohort required. */
  cohort: number;
  /** Template (relative to `<dir>/templates`) the default apply renders, or null when `actions.apply` is given or jig is noop. */
  scriptTemplate: string | null;
  spec: RoleSpec;
  /** The declaring plugin's directory. */
  dir: string;
}

/** A validated attrib. `default` is only meaningful when `hasDefault`. */
export interface LoadedAttrib {
  name: string;
  plugin: string;
  description: string;
  schema: ZodType;
  /** JSON Schema of `schema` for the API/UI; `{}` when zod cannot express it (e.g. transforms). */
  jsonSchema: Record<string, unknown>;
  hasDefault: boolean;
  default: unknown;
  /** Redact everywhere (API, logs, events, run records). */
  secret: boolean;
}

/** The data role templates are rendered with (default apply, and `ctx.render` without data). */
export interface RoleTemplateData {
  node: Readonly<NodeView>;
  role: string;
  deployment: string;
  /** Resolved values keyed by full attrib name; read them with `lookup attribs "ntp/servers"`. */
  attribs: Readonly<Record<string, unknown>>;
}

export type AttribValidation = { ok: true; value: unknown } | { ok: false; issues: FieldIssue[] };

export interface Registry {
  plugins: readonly PluginManifest[];
  roles: ReadonlyMap<string, LoadedRole>;
  attribs: ReadonlyMap<string, LoadedAttrib>;
  /** All roles, each after everything it requires (and after roles that precede it); ties by name. */
  rolesInOrder: readonly LoadedRole[];
  /** Throws AppError ERR_ROLE_NOT_FOUND for an unknown name. */
  role(name: string): LoadedRole;
  /** Throws AppError ERR_ATTRIB_NOT_FOUND for an unknown name. */
  attrib(name: string): LoadedAttrib;
  /**
   * Checks a value against the attrib's schema. On success returns the parsed value; otherwise
   * issues whose `field` is the attrib name plus the zod path (`ntp/servers[1]`). Throws
   * ERR_ATTRIB_NOT_FOUND for an unknown attrib.
   */
  validateAttribValue(name: string, value: unknown): AttribValidation;
  /** The renderer every template was compiled into at load. */
  renderer: TemplateRenderer;
  /** Absolute path of `<role's plugin dir>/templates/<template>`; throws if it escapes that directory. */
  templatePath(roleName: string, template: string): string;
}

/** Builds {@link RoleTemplateData} from an action context (the shape the default apply uses). */
export function roleTemplateData(ctx: Pick<RoleContext, 'node' | 'role' | 'deployment' | 'attribs'>): RoleTemplateData {
  return { node: ctx.node, role: ctx.role, deployment: ctx.deployment, attribs: ctx.attribs };
}

const KEBAB = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;
const kebabHint = 'must be lowercase kebab-case (e.g. "ntp-client")';
const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');

function zodPath(path: readonly PropertyKey[]): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
}

function templatesDir(dir: string): string {
  return resolve(dir, 'templates');
}

/** `<dir>/templates/<template>`, or null if the name escapes the templates directory. */
function resolveTemplate(dir: string, template: string): string | null {
  const base = templatesDir(dir);
  const full = resolve(base, template);
  return full.startsWith(base + sep) ? full : null;
}

function jsonSchemaOf(schema: ZodType): Record<string, unknown> {
  try {
    return z.toJSONSchema(schema) as Record<string, unknown>;
  } catch {
    return {};
  }
}

/**
 * Teardown contract (DESIGN §7b): every role says what unbinding it does to the node — exactly one of
 * `actions.remove` (undoes what apply did) or a non-empty `noRemove` (why nothing needs undoing).
 */
function checkRemoval(spec: RoleSpec, invalid: (field: string, text: string) => void): void {
  const hasRemove = spec.actions?.remove !== undefined;
  const reason: unknown = spec.noRemove;
  if (reason !== undefined && (typeof reason !== 'string' || reason.trim() === '')) {
    invalid('noRemove', 'must be a non-empty string saying why removing the role leaves the node as it is');
  } else if (hasRemove && reason !== undefined) {
    invalid('noRemove', 'the role has actions.remove too: keep the remove action or the noRemove reason, not both');
  } else if (!hasRemove && reason === undefined) {
    invalid(
      'actions.remove',
      'missing: give the role actions.remove (undo what its apply did on the node) or noRemove: "<why removing it leaves the node as it is>"',
    );
  }
}

/**
 * Validates the manifests and builds the registry. Throws one AppError whose `code` is the first
 * problem's code, whose message lists every problem, and whose `details.problems` is
 * {@link PluginProblem}[]. Templates are compiled into a fresh renderer (exposed as `renderer`).
 */
export function loadRegistry(plugins: PluginManifest[]): Registry {
  const problems: PluginProblem[] = [];
  type Where = { plugin: string; role?: string; attrib?: string };
  const report = (code: ErrorCode, at: Where, field: string, text: string): void => {
    const who = [`plugin "${at.plugin}"`];
    if (at.role !== undefined) who.push(`role "${at.role}"`);
    if (at.attrib !== undefined) who.push(`attrib "${at.attrib}"`);
    problems.push({ code, ...at, field, message: `${who.join(' ')} field ${field}: ${text}` });
  };
  const invalid = (at: Where, field: string, text: string): void => report('ERR_PLUGIN_INVALID', at, field, text);
  const renderer = createTemplateRenderer();
  const compile = (at: Where, field: string, dir: string, template: string): void => {
    const full = resolveTemplate(dir, template);
    if (full === null) {
      return report('ERR_PLUGIN_TEMPLATE', at, field, `template "${template}" is outside ${templatesDir(dir)}`);
    }
    try {
      renderer.compileFile(full);
    } catch (err) {
      report('ERR_PLUGIN_TEMPLATE', at, field, err instanceof Error ? err.message : String(err));
    }
  };

  // Pass 1: each manifest on its own, and name clashes.
  const accepted: PluginManifest[] = [];
  const roleOwner = new Map<string, PluginManifest>();
  const attribOwner = new Map<string, PluginManifest>();
  for (const p of plugins) {
    const plugin = String(p.name);
    if (typeof p.name !== 'string' || !KEBAB.test(p.name)) invalid({ plugin }, 'name', kebabHint);
    if (accepted.some((q) => q.name === p.name)) {
      report('ERR_PLUGIN_DUPLICATE', { plugin }, 'name', `another plugin is already named "${plugin}"`);
      continue;
    }
    accepted.push(p);
    if (p.kind !== 'barclamp' && p.kind !== 'workload') invalid({ plugin }, 'kind', 'must be "barclamp" or "workload"');
    if (typeof p.version !== 'string' || p.version === '') invalid({ plugin }, 'version', 'must be a non-empty string');
    if (typeof p.dir !== 'string' || !isAbsolute(p.dir))
      invalid({ plugin }, 'dir', 'must be an absolute path (__dirname)');
    const roles = typeof p.roles === 'object' && p.roles !== null ? Object.entries(p.roles) : [];
    if (typeof p.roles !== 'object' || p.roles === null) invalid({ plugin }, 'roles', 'must be an object');

    for (const [attrib, spec] of Object.entries(p.attribs ?? {})) {
      const at = { plugin, attrib };
      const [prefix, rest, extra] = attrib.split('/');
      if (prefix !== plugin || rest === undefined || extra !== undefined || !KEBAB.test(rest)) {
        invalid(at, 'name', `must be namespaced "${plugin}/<kebab-name>"`);
      }
      const other = attribOwner.get(attrib);
      if (other)
        report('ERR_PLUGIN_DUPLICATE', at, 'name', `attrib "${attrib}" is also declared by plugin "${other.name}"`);
      else attribOwner.set(attrib, p);
      if (typeof spec.description !== 'string') invalid(at, 'description', 'must be a string');
      if (typeof (spec.schema as Partial<ZodType> | undefined)?.safeParse !== 'function') {
        invalid(at, 'schema', 'must be a zod schema');
      } else if (spec.default !== undefined) {
        const parsed = spec.schema.safeParse(spec.default);
        if (!parsed.success) {
          // NOTE: never print the value itself; it may be a secret.
          const issues = parsed.error.issues.map((i) => (i.path.length ? `${zodPath(i.path)}: ` : '') + i.message);
          report('ERR_PLUGIN_ATTRIB_DEFAULT', at, 'default', `default fails its own schema: ${issues.join('; ')}`);
        }
      }
    }

    for (const [role, spec] of roles) {
      const at = { plugin, role };
      if (!KEBAB.test(role)) invalid(at, 'name', kebabHint);
      const other = roleOwner.get(role);
      if (other)
        report('ERR_PLUGIN_DUPLICATE', at, 'name', `role "${role}" is also declared by plugin "${other.name}"`);
      else roleOwner.set(role, p);
      if (typeof spec.description !== 'string') invalid(at, 'description', 'must be a string');
      for (const field of ['requires', 'precedes', 'wants', 'flags', 'templates'] as const) {
        if (spec[field] !== undefined && !isStringArray(spec[field])) invalid(at, field, 'must be an array of strings');
      }
      const flags = isStringArray(spec.flags) ? spec.flags : [];
      for (const f of flags.filter((f) => !(roleFlags as readonly string[]).includes(f))) {
        invalid(at, 'flags', `unknown flag "${f}" (known: ${roleFlags.join(', ')})`);
      }
      if (flags.includes('implicit') && flags.includes('cluster')) {
        invalid(at, 'flags', '"implicit" and "cluster" are mutually exclusive');
      }
      if (spec.jig !== undefined && !(jigNames as readonly string[]).includes(spec.jig)) {
        invalid(at, 'jig', `unknown jig "${String(spec.jig)}" (known: ${jigNames.join(', ')})`);
      }
      if (spec.timeoutMs !== undefined && !(Number.isInteger(spec.timeoutMs) && spec.timeoutMs > 0)) {
        invalid(at, 'timeoutMs', 'must be a positive integer (milliseconds)');
      }
      const codes: unknown = spec.transientExitCodes;
      if (
        codes !== undefined &&
        !(Array.isArray(codes) && codes.every((c) => Number.isInteger(c) && c > 0 && c < 256))
      ) {
        invalid(at, 'transientExitCodes', 'must be integers from 1 to 255');
      }
      for (const action of ['apply', 'remove', 'check'] as const) {
        const fn: unknown = spec.actions?.[action];
        if (fn !== undefined && typeof fn !== 'function') invalid(at, `actions.${action}`, 'must be a function');
      }
      checkRemoval(spec, (field, text) => invalid(at, field, text));
    }
  }

  // Pass 2: references between plugins, templates, cycles.
  const strings = (v: unknown): string[] => (isStringArray(v) ? v : []);
  const deps = new Map<string, Set<string>>([...roleOwner.keys()].map((r) => [r, new Set<string>()]));
  for (const [role, owner] of roleOwner) {
    const spec = owner.roles[role] as RoleSpec;
    const at = { plugin: owner.name, role };
    for (const field of ['requires', 'precedes'] as const) {
      for (const target of strings(spec[field])) {
        if (!roleOwner.has(target)) {
          report('ERR_PLUGIN_REQUIRES_UNRESOLVED', at, field, `role "${target}" is not declared by any plugin`);
        } else if (field === 'requires') deps.get(role)?.add(target);
        else deps.get(target)?.add(role);
      }
    }
    for (const want of strings(spec.wants).filter((w) => !attribOwner.has(w))) {
      report('ERR_PLUGIN_ATTRIB_UNKNOWN', at, 'wants', `attrib "${want}" is not declared by any plugin`);
    }
    if (typeof owner.dir !== 'string' || !isAbsolute(owner.dir)) continue;
    for (const template of strings(spec.templates)) compile(at, 'templates', owner.dir, template);
    if ((spec.jig === 'local' || spec.jig === 'ssh') && spec.actions?.apply === undefined) {
      compile(at, 'actions.apply', owner.dir, `${role}.sh.hbs`);
    }
  }
  const edges = (r: string): string[] => [...(deps.get(r) ?? [])];
  const cycle = findCycle([...deps.keys()], edges);
  if (cycle) {
    const [a = '', b = ''] = cycle;
    const viaRequires = strings(roleOwner.get(a)?.roles[a]?.requires).includes(b);
    const role = viaRequires ? a : b;
    const text = `role graph has a cycle: ${cycle.join(' -> ')} (x -> y: x requires y, or y precedes x)`;
    report(
      'ERR_PLUGIN_CYCLE',
      { plugin: roleOwner.get(role)?.name ?? '?', role },
      viaRequires ? 'requires' : 'precedes',
      text,
    );
  }

  if (problems.length > 0) {
    const first = problems[0] as PluginProblem;
    const list = problems.map((p) => `  - ${p.message.replaceAll('\n', '\n    ')}`).join('\n');
    const message = problems.length === 1 ? first.message : `${problems.length} plugin problems:\n${list}`;
    throw new AppError(first.code, message, { details: { problems } });
  }
  return build(accepted, roleOwner, edges, renderer);
}

function build(
  plugins: PluginManifest[],
  roleOwner: Map<string, PluginManifest>,
  edges: (r: string) => string[],
  renderer: TemplateRenderer,
): Registry {
  const cohorts = depths([...roleOwner.keys()], (r) => roleOwner.get(r)?.roles[r]?.requires ?? []);
  const roles = new Map<string, LoadedRole>();
  for (const [name, p] of roleOwner) {
    const spec = p.roles[name] as RoleSpec;
    const jig = spec.jig ?? 'noop';
    roles.set(
      name,
      Object.freeze({
        name,
        plugin: p.name,
        pluginKind: p.kind,
        description: spec.description,
        requires: Object.freeze([...(spec.requires ?? [])]),
        precedes: Object.freeze([...(spec.precedes ?? [])]),
        flags: new Set(spec.flags ?? []),
        wants: Object.freeze([...(spec.wants ?? [])]),
        jig,
        timeoutMs: spec.timeoutMs ?? DEFAULT_ROLE_TIMEOUT_MS,
        transientExitCodes: Object.freeze([...(spec.transientExitCodes ?? [])]),
        cohort: cohorts.get(name) ?? 0,
        scriptTemplate: jig !== 'noop' && spec.actions?.apply === undefined ? `${name}.sh.hbs` : null,
        spec,
        dir: p.dir,
      }),
    );
  }
  const attribs = new Map<string, LoadedAttrib>();
  for (const p of plugins) {
    for (const [name, spec] of Object.entries(p.attribs ?? {})) {
      attribs.set(
        name,
        Object.freeze({
          name,
          plugin: p.name,
          description: spec.description,
          schema: spec.schema,
          jsonSchema: jsonSchemaOf(spec.schema),
          hasDefault: spec.default !== undefined,
          default: spec.default,
          secret: spec.secret === true,
        }),
      );
    }
  }
  const rolesInOrder = Object.freeze(topoSort([...roles.keys()], edges).map((r) => roles.get(r) as LoadedRole));

  const role = (name: string): LoadedRole => {
    const r = roles.get(name);
    if (!r) throw notFound('ERR_ROLE_NOT_FOUND', 'role', name);
    return r;
  };
  const attrib = (name: string): LoadedAttrib => {
    const a = attribs.get(name);
    if (!a) throw notFound('ERR_ATTRIB_NOT_FOUND', 'attrib', name);
    return a;
  };
  return Object.freeze({
    plugins: Object.freeze([...plugins]),
    roles,
    attribs,
    rolesInOrder,
    role,
    attrib,
    renderer,
    validateAttribValue(name: string, value: unknown): AttribValidation {
      const parsed = attrib(name).schema.safeParse(value);
      if (parsed.success) return { ok: true, value: parsed.data };
      return {
        ok: false,
        issues: parsed.error.issues.map((i) => ({ field: name + zodPath(i.path), message: i.message })),
      };
    },
    templatePath(roleName: string, template: string): string {
      const r = role(roleName);
      const full = resolveTemplate(r.dir, template);
      if (full === null) {
        throw new AppError(
          'ERR_PLUGIN_TEMPLATE',
          `role "${roleName}": template "${template}" is outside ${join(r.dir, 'templates')}`,
        );
      }
      return full;
    },
  });
}
