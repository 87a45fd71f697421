/**
 * The HTTP API (DESIGN §8): an express app serving `/api/v2`, built from a booted anneal. It never
 * listens; main.ts (or a test) does. Routes are thin: parse → service or store → respond. Every
 * failure, including malformed JSON (400 ERR_JSON_MALFORMED), a body over 1 MB (413
 * ERR_BODY_TOO_LARGE) and an unknown route (404 ERR_NOT_FOUND), answers `{error: {code, message, details?}}`.
 */
import express from 'express';
import type { Anneal } from '../boot';
import { BODY_LIMIT_BYTES, errorHandler, notFoundHandler } from './error-handler';
import { blueprintRoutes } from './routes/blueprints';
import { catalogRoutes } from './routes/catalog';
import { deploymentRoutes } from './routes/deployments';
import { eventRoutes } from './routes/events';
import { healthRoutes } from './routes/health';
import { installRoutes } from './routes/installs';
import { networkRoutes } from './routes/networks';
import { nodeRoleRoutes } from './routes/node-roles';
import { nodeRoutes } from './routes/nodes';
import { powerRoutes } from './routes/power';
import { provisionRoutes } from './routes/provision';
import { roleRoutes } from './routes/roles';
import { runRoutes } from './routes/runs';
import { tokenRoutes } from './routes/tokens';
import { openApiDocument } from './openapi';
import { ApiRoutes } from './route';
import { uiRouter } from '../ui';

export const API_PREFIX = '/api/v2';

/** Every `/api/v2` route, in matching order; its docs are what core/api/openapi.ts documents. */
export function apiRoutes(anneal: Anneal): ApiRoutes {
  const all = new ApiRoutes(anneal);
  for (const group of [
    healthRoutes,
    tokenRoutes,
    nodeRoutes,
    powerRoutes,
    installRoutes,
    networkRoutes,
    deploymentRoutes,
    blueprintRoutes,
    roleRoutes,
    catalogRoutes,
    nodeRoleRoutes,
    runRoutes,
    eventRoutes,
  ]) {
    all.mount('/', group(anneal));
  }
  let document: unknown;
  all.add(
    { method: 'get', path: '/openapi.json', summary: 'This API as an OpenAPI 3.1 document', access: 'public' },
    (_req, res) => {
      document ??= openApiDocument(all.docs);
      res.json(document);
    },
  );
  return all;
}

/** Builds the app; the caller owns `listen` and shutdown. Unexpected errors are logged via `anneal.log`. */
export function createApp(anneal: Anneal): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({ limit: BODY_LIMIT_BYTES }));

  const { router } = apiRoutes(anneal);
  app.use(API_PREFIX, router);
  app.use('/provision', provisionRoutes(anneal));
  app.use('/ui', uiRouter());
  app.get('/', (_req, res) => res.redirect('/ui/'));

  app.use(notFoundHandler);
  app.use(errorHandler(anneal.log));
  return app;
}
