/**
 * The OpenAPI 3.1 document of `/api/v2`, generated from the declared routes (core/api/route.ts): the
 * request schemas in it are the zod schemas that validate requests (converted with zod's own JSON
 * Schema output, input side), so the document cannot drift from what the API accepts. Response bodies
 * are described in prose (docs/api.md); every error answers the one `Error` shape.
 */
import { z, type ZodType } from 'zod';
import { version } from '../../package.json';
import type { RouteDoc } from './route';

type Json = Record<string, unknown>;

function jsonSchema(schema: ZodType): Json {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Json;
  return rest;
}

/** `/nodes/:ref/attribs/*attrib` → `/nodes/{ref}/attribs/{attrib}`, and the parameter names in order. */
export function openApiPath(expressPath: string): { path: string; params: { name: string; rest: boolean }[] } {
  const params: { name: string; rest: boolean }[] = [];
  const path = expressPath.replace(/([:*])([A-Za-z_]+)/g, (_m, kind: string, name: string) => {
    params.push({ name, rest: kind === '*' });
    return `{${name}}`;
  });
  return { path, params };
}

const paramText: Record<string, string> = {
  ref: 'an id or a name',
  id: 'a numeric id',
  name: 'a name',
  address: 'an IPv4 address',
  attrib: 'an attrib name such as ntp/servers (the slash may stay unescaped)',
};

const accessText: Record<string, string> = {
  public: 'no token needed',
  read: 'any token (read-only and up)',
  operate: 'an operator or admin token',
  admin: 'an admin token',
};

function queryParameters(query: ZodType | undefined): Json[] {
  if (!(query instanceof z.ZodObject)) return [];
  return Object.entries(query.shape as Record<string, ZodType>).map(([name, field]) => ({
    name,
    in: 'query',
    required: !field.safeParse(undefined).success,
    schema: jsonSchema(field),
  }));
}

function operation(doc: RouteDoc): Json {
  const { params } = openApiPath(doc.path);
  const errorResponse = { $ref: '#/components/responses/Error' };
  return {
    operationId: `${doc.method}${openApiPath(doc.path)
      .path.split(/[/{}-]+/)
      .filter(Boolean)
      .map((s) => s[0]!.toUpperCase() + s.slice(1))
      .join('')}`,
    summary: doc.summary,
    description: `Needs ${accessText[doc.access]}.`,
    tags: [doc.tag],
    'x-anneal-access': doc.access,
    ...(doc.access === 'public' ? { security: [] } : {}),
    parameters: [
      ...params.map((p) => ({
        name: p.name,
        in: 'path',
        required: true,
        description: paramText[p.name] ?? p.name,
        schema: { type: 'string' },
      })),
      ...queryParameters(doc.query),
    ],
    ...(doc.body
      ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(doc.body) } } } }
      : {}),
    responses: {
      [String(doc.status)]: {
        description: doc.status === 204 ? 'Done; no body.' : 'Success; the body is described in docs/api.md.',
        ...(doc.status === 204
          ? {}
          : {
              content: {
                [doc.produces ?? 'application/json']: { schema: { type: doc.produces ? 'string' : 'object' } },
              },
            }),
      },
      '4XX': errorResponse,
      '5XX': errorResponse,
    },
  };
}

export function openApiDocument(docs: readonly RouteDoc[]): Json {
  const paths: Record<string, Record<string, Json>> = {};
  for (const doc of docs) {
    const { path } = openApiPath(doc.path);
    (paths[path] ??= {})[doc.method] = operation(doc);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'anneal API',
      version,
      description:
        'Ready-state operations: nodes, deployments, roles, node-roles, attribs, networks, events. Errors answer {error: {code, message, details?}} with the stable codes of docs/errors.md.',
    },
    servers: [{ url: '/api/v2' }],
    security: [{ bearer: [] }],
    tags: [...new Set(docs.map((d) => d.tag))].map((name) => ({ name })),
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'An API token: anneal tokens create NAME --role ROLE' },
      },
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['code', 'message'],
              properties: {
                code: { type: 'string', pattern: '^ERR_[A-Z_]+$' },
                message: { type: 'string' },
                details: {},
              },
            },
          },
        },
      },
      responses: {
        Error: {
          description: 'The one error shape (docs/errors.md)',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
        },
      },
    },
  };
}
