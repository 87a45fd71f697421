/**
 * The blueprint format (DESIGN §7b): a deployment as data — groups of roles placed by count and selector,
 * deployment- and node-scope attribs, secrets by reference — never node names, MACs or secret values.
 * Pure: one zod schema validates documents and is published as JSON Schema
 * (`GET /api/v2/blueprints/schema.json`); what only the catalog can check (role and attrib names, values
 * against their schemas, secret attribs given as references) is checked by the blueprints service.
 *
 * Parsing a YAML document refuses, with one-line errors naming the field and the fix: documents over
 * {@link MAX_BLUEPRINT_BYTES}, alias bombs (more than {@link MAX_YAML_ALIASES} aliases), several documents,
 * wrong apiVersion/kind, unknown keys, duplicate group names.
 */
import { parseDocument } from 'yaml';
import { z } from 'zod';

export const BLUEPRINT_API_VERSION = 'anneal/v1';
/** A blueprint is a page of YAML; 1 MiB leaves room for thousands of groups and attribs. */
export const MAX_BLUEPRINT_BYTES = 1024 * 1024;
/** YAML aliases allowed in one document: enough for anchors of shared attribs, too few for a bomb. */
export const MAX_YAML_ALIASES = 100;
export const MAX_GROUPS = 100;
/** The largest `count` a group may ask for (the benchmark places 10,000 nodes in one group). */
export const MAX_GROUP_COUNT = 100_000;

const NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const DEPLOYMENT_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;
const TAG = /^[a-z0-9]([a-z0-9._-]{0,62})$/;
const ATTRIB = /^[a-z0-9][a-z0-9-]*\/[a-z0-9][a-z0-9/_-]*$/;
const SECRET_NAME = /^[a-z0-9]([a-z0-9._-]{0,126})$/;

const nameOf = (what: string) =>
  z
    .string({ error: `expected a ${what} name: lowercase letters, digits and hyphens, 1–63 characters` })
    .regex(NAME, `expected a ${what} name: lowercase letters, digits and hyphens, 1–63 characters`);

export const tagSchema = z
  .string({ error: 'expected a tag: lowercase letters, digits, dots, hyphens, underscores, 1–63 characters' })
  .regex(TAG, 'expected a tag: lowercase letters, digits, dots, hyphens, underscores, 1–63 characters');

export const secretNameSchema = z
  .string({ error: 'expected a secret name: lowercase letters, digits, dots, hyphens, underscores' })
  .regex(SECRET_NAME, 'expected a secret name: lowercase letters, digits, dots, hyphens, underscores');

/** A secret attrib's value in a blueprint: the name of a site secret (`anneal secrets set NAME`). */
export const secretRefSchema = z.strictObject({ secretRef: secretNameSchema });
export type SecretRef = z.infer<typeof secretRefSchema>;

export function isSecretRef(v: unknown): v is SecretRef {
  return secretRefSchema.safeParse(v).success;
}

const attribsSchema = z
  .record(z.string().regex(ATTRIB, 'expected an attrib name like ntp/servers'), z.unknown())
  .superRefine((values, ctx) => {
    for (const [k, v] of Object.entries(values))
      if (v === null || v === undefined)
        ctx.addIssue({ code: 'custom', path: [k], message: 'expected a value (null is not one; leave the key out)' });
  })
  .default({});

const count = z
  .int({ error: 'expected a whole number of nodes' })
  .min(0, 'expected 0 or more nodes')
  .max(MAX_GROUP_COUNT, `expected at most ${MAX_GROUP_COUNT} nodes`);

/** Which nodes a group may take: every given condition must hold. */
export const selectorSchema = z
  .strictObject({
    tags: z.array(tagSchema).max(32, 'expected at most 32 tags').optional(),
    /** A glob over node names: `*` any run of characters, `?` one. */
    name: z
      .string({ error: 'expected a name glob like "rack1-*"' })
      .min(1, 'expected a name glob like "rack1-*"')
      .max(253, 'expected a name glob of at most 253 characters')
      .optional(),
    minDisks: count.optional(),
    minMemoryMiB: z
      .int({ error: 'expected MiB as a whole number' })
      .min(0)
      .max(1 << 30)
      .optional(),
    minCpus: z
      .int({ error: 'expected a whole number of CPU threads' })
      .min(0)
      .max(1 << 20)
      .optional(),
  })
  .default({});
export type Selector = z.infer<typeof selectorSchema>;

export const groupSchema = z
  .strictObject({
    name: nameOf('group'),
    count: count.optional(),
    all: z.literal(true, { error: 'expected `all: true` (or give `count`)' }).optional(),
    select: selectorSchema,
    roles: z.array(nameOf('role'), { error: 'expected a list of role names' }).max(64, 'expected at most 64 roles'),
    attribs: attribsSchema,
  })
  .superRefine((g, ctx) => {
    if ((g.count === undefined) === (g.all === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['count'],
        message: 'expected exactly one of `count: N` or `all: true`',
      });
    }
    if (new Set(g.roles).size !== g.roles.length) {
      ctx.addIssue({ code: 'custom', path: ['roles'], message: 'expected each role once' });
    }
  });
export type BlueprintGroup = z.infer<typeof groupSchema>;

export const blueprintSchema = z.strictObject({
  apiVersion: z.literal(BLUEPRINT_API_VERSION, { error: `expected apiVersion: ${BLUEPRINT_API_VERSION}` }),
  kind: z.literal('Blueprint', { error: 'expected kind: Blueprint' }),
  metadata: z.strictObject({
    name: nameOf('blueprint'),
    description: z.string().max(4096, 'expected at most 4096 characters').optional(),
  }),
  spec: z.strictObject({
    deployment: z.strictObject({
      name: z
        .string({ error: 'expected a deployment name like etcd or site-a.etcd' })
        .max(200, 'expected a deployment name of at most 200 characters')
        .regex(DEPLOYMENT_NAME, 'expected a deployment name like etcd or site-a.etcd')
        .refine((s) => !/^[\d.]+$/.test(s), 'expected a name that is not only digits')
        .refine((s) => s !== 'system', 'system is the root deployment; name the deployment the blueprint makes'),
      parent: z
        .string({ error: 'expected the parent deployment name' })
        .regex(DEPLOYMENT_NAME, 'expected the parent deployment name')
        .default('system'),
      description: z.string().max(4096, 'expected at most 4096 characters').optional(),
    }),
    attribs: attribsSchema,
    groups: z
      .array(groupSchema, { error: 'expected a list of groups' })
      .max(MAX_GROUPS, `expected at most ${MAX_GROUPS} groups`)
      .default([])
      .superRefine((groups, ctx) => {
        const seen = new Map<string, number>();
        groups.forEach((g, i) => {
          const first = seen.get(g.name);
          if (first !== undefined) {
            ctx.addIssue({
              code: 'custom',
              path: [i, 'name'],
              message: `duplicate group name "${g.name}" (also groups[${first}]): give each group its own name`,
            });
          } else seen.set(g.name, i);
        });
      }),
  }),
});
export type Blueprint = z.output<typeof blueprintSchema>;

/** One problem with a document: where (`spec.groups[0].roles[1]`) and what to do. */
export interface BlueprintIssue {
  field: string;
  message: string;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; issues: BlueprintIssue[] };

function pathText(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (s, p) => (typeof p === 'number' ? `${s}[${p}]` : s ? `${s}.${String(p)}` : String(p)),
    '',
  );
}

/** Validates a parsed document (YAML or JSON) against the format. */
export function checkBlueprint(doc: unknown): Parsed<Blueprint> {
  const r = blueprintSchema.safeParse(doc);
  if (r.success) return { ok: true, value: r.data };
  return {
    ok: false,
    issues: r.error.issues.map((i) => ({
      field: pathText(i.path) || '(document)',
      message:
        i.code === 'unrecognized_keys'
          ? `unknown key${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => `"${k}"`).join(', ')}: remove ${i.keys.length > 1 ? 'them' : 'it'} (GET /api/v2/blueprints/schema.json lists the keys)`
          : i.message,
    })),
  };
}

/** YAML text → a plain value, refusing what is too large, several documents and alias bombs. */
export function parseYaml(text: string): Parsed<unknown> {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_BLUEPRINT_BYTES) {
    return {
      ok: false,
      issues: [
        {
          field: '(document)',
          message: `${bytes} bytes is over the ${MAX_BLUEPRINT_BYTES}-byte limit: a blueprint holds roles, counts and attribs, not data (put large values in artifacts)`,
        },
      ],
    };
  }
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false, strict: true, version: '1.2' });
  const problem = doc.errors[0];
  if (problem) {
    const line = problem.linePos?.[0];
    return {
      ok: false,
      issues: [
        {
          field: line ? `(line ${line.line}, column ${line.col})` : '(document)',
          message: `not valid YAML: ${problem.message.split('\n')[0]}`,
        },
      ],
    };
  }
  try {
    return { ok: true, value: doc.toJS({ maxAliasCount: MAX_YAML_ALIASES }) };
  } catch (err) {
    return {
      ok: false,
      issues: [
        {
          field: '(document)',
          message: `${(err as Error).message.split('\n')[0]}: at most ${MAX_YAML_ALIASES} aliases may be expanded (write the values out)`,
        },
      ],
    };
  }
}

/** YAML (or JSON, which is YAML) text → a checked blueprint. */
export function parseBlueprint(text: string): Parsed<Blueprint> {
  const parsed = parseYaml(text);
  return parsed.ok ? checkBlueprint(parsed.value) : parsed;
}

/** The format as JSON Schema (draft 2020-12), for editors and `GET /api/v2/blueprints/schema.json`. */
export function blueprintJsonSchema(): Record<string, unknown> {
  return {
    $id: 'https://anneal.dev/schemas/blueprint-v1.json',
    title: 'anneal Blueprint',
    ...z.toJSONSchema(blueprintSchema, { io: 'input', unrepresentable: 'any' }),
  };
}

/**
 * A site overlay (Juju's overlay): site-specific values merged over a portable blueprint — deployment
 * attribs, and per group (by name) its count, selector and attribs. Unknown groups are an error.
 */
export const overlaySchema = z.strictObject({
  spec: z
    .strictObject({
      attribs: attribsSchema,
      groups: z
        .array(
          z.strictObject({
            name: nameOf('group'),
            count: count.optional(),
            select: selectorSchema.optional(),
            attribs: attribsSchema,
          }),
        )
        .default([]),
    })
    .default({ attribs: {}, groups: [] }),
});
export type Overlay = z.output<typeof overlaySchema>;

export function applyOverlay(bp: Blueprint, overlay: Overlay): Parsed<Blueprint> {
  const groups = new Map(bp.spec.groups.map((g) => [g.name, g]));
  const issues: BlueprintIssue[] = [];
  overlay.spec.groups.forEach((o, i) => {
    if (!groups.has(o.name)) {
      issues.push({
        field: `overlay.spec.groups[${i}].name`,
        message: `the blueprint has no group "${o.name}" (it has: ${[...groups.keys()].join(', ') || 'none'})`,
      });
    }
  });
  if (issues.length) return { ok: false, issues };
  const byName = new Map(overlay.spec.groups.map((o) => [o.name, o]));
  return checkBlueprint({
    ...bp,
    spec: {
      ...bp.spec,
      attribs: { ...bp.spec.attribs, ...overlay.spec.attribs },
      groups: bp.spec.groups.map((g) => {
        const o = byName.get(g.name);
        if (!o) return g;
        return {
          ...g,
          ...(o.count !== undefined ? { count: o.count, all: undefined } : {}),
          ...(o.select ? { select: o.select } : {}),
          attribs: { ...g.attribs, ...o.attribs },
        };
      }),
    },
  });
}
