/**
 * Declared routes: every `/api/v2` route is registered through {@link ApiRoutes.add} with a spec that
 * states its method, path, access level and request schemas. The same spec drives three things, so
 * they cannot drift apart: the role check (core/api/auth.ts) runs before the handler, the body and
 * query are validated with the spec's zod schemas before the handler sees them, and the OpenAPI
 * document (core/api/openapi.ts) is generated from the specs.
 */
import { Router, type Request, type Response } from 'express';
import type { ZodType, z } from 'zod';
import type { Anneal } from '../boot';
import { accessForMethod, type Access } from '../domain/auth';
import { requireToken } from './auth';
import { parseBody, parseQuery } from './parse';

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface RouteSpec<B extends ZodType | undefined = undefined, Q extends ZodType | undefined = undefined> {
  method: Method;
  /** Express syntax, relative to the ApiRoutes prefix: `/nodes/:ref`, `/*attrib` for a rest-of-path name. */
  path: string;
  /** One line for the OpenAPI document. */
  summary: string;
  /** Default: `read` for GET, `operate` otherwise. */
  access?: Access;
  /** Validates the JSON body (a missing body counts as `{}` when `optionalBody`). */
  body?: B;
  optionalBody?: boolean;
  /** Validates the query string. */
  query?: Q;
  /** Success status (default 200). */
  status?: number;
  /** Response media type when not JSON. */
  produces?: 'text/event-stream';
}

export interface RouteDoc {
  method: Method;
  /** Full express path under /api/v2. */
  path: string;
  summary: string;
  access: Access;
  body?: ZodType;
  query?: ZodType;
  status: number;
  produces?: string;
  /** The tag (first path segment) the document groups it under. */
  tag: string;
}

type Output<S> = S extends ZodType ? z.output<S> : undefined;

export interface RouteInput<B, Q> {
  body: Output<B>;
  query: Output<Q>;
}

export type RouteHandler<B, Q> = (req: Request, res: Response, input: RouteInput<B, Q>) => unknown;

/** A router plus the specs of everything registered on it. */
export class ApiRoutes {
  readonly router: Router;
  readonly docs: RouteDoc[] = [];

  constructor(
    private readonly anneal: Anneal,
    private readonly prefix = '',
  ) {
    this.router = Router({ mergeParams: true });
  }

  add<B extends ZodType | undefined = undefined, Q extends ZodType | undefined = undefined>(
    spec: RouteSpec<B, Q>,
    handler: RouteHandler<B, Q>,
  ): this {
    const access = spec.access ?? accessForMethod(spec.method);
    const path = (this.prefix + spec.path).replace(/\/$/, '') || '/';
    this.docs.push({
      method: spec.method,
      path,
      summary: spec.summary,
      access,
      ...(spec.body ? { body: spec.body } : {}),
      ...(spec.query ? { query: spec.query } : {}),
      status: spec.status ?? 200,
      ...(spec.produces ? { produces: spec.produces } : {}),
      tag: path.split('/')[1] ?? '',
    });
    this.router[spec.method](spec.path, requireToken(this.anneal, access), async (req, res) => {
      const input = {
        body: spec.body ? parseBody(spec.body, spec.optionalBody && req.body === undefined ? {} : req.body) : undefined,
        query: spec.query ? parseQuery(spec.query, req.query) : undefined,
      } as RouteInput<B, Q>;
      await handler(req, res, input);
    });
    return this;
  }

  /** Mounts another ApiRoutes' router (built with this prefix + `path` as its prefix) and adopts its docs. */
  mount(path: string, child: ApiRoutes): this {
    this.router.use(path, child.router);
    this.docs.push(...child.docs);
    return this;
  }
}
