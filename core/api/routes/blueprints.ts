/**
 * Blueprints and site secrets (docs/blueprints.md):
 *
 *   GET    /blueprints/schema.json        the format as JSON Schema (no token needed)
 *   POST   /blueprints/validate           {blueprint, overlay?} → {valid, blueprint} (read: writes nothing)
 *   POST   /blueprints/plan               {blueprint, overlay?} → {plan, text, fingerprint, blueprint} (read)
 *   POST   /blueprints/apply              {blueprint, overlay?, fingerprint?} → {applied, plan, text}; a stale
 *                                         fingerprint (a saved plan) is refused with ERR_PLAN_STALE
 *   GET    /deployments/:ref/blueprint    the deployment as a blueprint (`?format=yaml` for YAML text)
 *   GET    /secrets                       site secrets: names and times, never values
 *   PUT    /secrets/:name                 {value} → {name, changed} (write-only)
 *   DELETE /secrets/:name                 → {name, deleted}; ERR_SECRET_NOT_FOUND
 *
 * `blueprint` and `overlay` are YAML text or the parsed document (JSON).
 */
import { stringify } from 'yaml';
import { z } from 'zod';
import type { Anneal } from '../../boot';
import { blueprintJsonSchema, secretNameSchema } from '../../domain/blueprint';
import { fingerprintSections } from '../../services/blueprints';
import { actorOf } from '../actor';
import { inputError } from '../../errors';
import { parseRef } from '../parse';
import { ApiRoutes } from '../route';

const document = z.union([z.string().max(2 * 1024 * 1024), z.record(z.string(), z.unknown())], {
  error: 'expected the blueprint as YAML text or as a JSON object',
});

const planBody = z.strictObject({ blueprint: document, overlay: document.optional() });

const fingerprintHash = z.string().regex(/^[0-9a-f]{64}$/, 'expected a sha256 hex digest from a saved plan');
const applyBody = planBody.extend({
  fingerprint: z
    .strictObject({
      value: fingerprintHash,
      sections: z.strictObject(
        Object.fromEntries(fingerprintSections.map((s) => [s, fingerprintHash])) as Record<
          (typeof fingerprintSections)[number],
          typeof fingerprintHash
        >,
      ),
    })
    .optional(),
});

const secretBody = z.strictObject({
  value: z
    .string({ error: 'expected the secret value as a string' })
    .min(1, 'expected a non-empty value')
    .max(64 * 1024, 'expected at most 64 KiB'),
});

const exportQuery = z.object({
  format: z.enum(['json', 'yaml'], { error: 'expected json or yaml' }).optional(),
});

/** The `:name` of a secrets route; ERR_INPUT_INVALID naming it. */
function secretName(value: unknown): string {
  const r = secretNameSchema.safeParse(value);
  if (!r.success) throw inputError([{ field: 'name', message: r.error.issues[0]!.message }]);
  return r.data;
}

export function blueprintRoutes(anneal: Anneal): ApiRoutes {
  const { services } = anneal;
  const routes = new ApiRoutes(anneal);
  const schema = blueprintJsonSchema();

  routes.add(
    {
      method: 'get',
      path: '/blueprints/schema.json',
      summary: 'The blueprint format as JSON Schema',
      access: 'public',
    },
    (_req, res) => {
      res.json(schema);
    },
  );

  routes.add(
    {
      method: 'post',
      path: '/blueprints/validate',
      summary: 'Check a blueprint against the format and the catalog (writes nothing)',
      body: planBody,
      access: 'read',
    },
    (_req, res, { body }) => {
      res.json({ valid: true, blueprint: services.blueprints.validate(body) });
    },
  );

  routes.add(
    {
      method: 'post',
      path: '/blueprints/plan',
      summary:
        'Plan a blueprint against this site: the exact changes, and the fingerprint of the state (writes nothing)',
      body: planBody,
      access: 'read',
    },
    async (_req, res, { body }) => {
      res.json(await services.blueprints.plan(body));
    },
  );

  routes.add(
    {
      method: 'post',
      path: '/blueprints/apply',
      summary: 'Apply a blueprint in one transaction and commit (a saved plan: refused when the site changed)',
      body: applyBody,
    },
    async (req, res, { body }) => {
      res.json(await services.blueprints.apply(body, actorOf(req)));
    },
  );

  routes.add(
    {
      method: 'get',
      path: '/deployments/:ref/blueprint',
      summary: 'The deployment as a blueprint (no node names, MACs or secret values)',
      query: exportQuery,
    },
    async (req, res, { query }) => {
      const bp = await services.blueprints.exportDeployment(parseRef(req.params.ref));
      if (query.format === 'yaml') res.type('application/yaml').send(stringify(bp));
      else res.json(bp);
    },
  );

  routes.add(
    { method: 'get', path: '/secrets', summary: 'Site secrets: names and times, never values' },
    async (_req, res) => {
      res.json({ items: await anneal.store.siteSecrets.list() });
    },
  );

  routes.add(
    {
      method: 'put',
      path: '/secrets/:name',
      summary: 'Set a site secret (write-only: the value is never returned)',
      body: secretBody,
    },
    async (req, res, { body }) => {
      const name = secretName(req.params.name);
      res.json(await services.blueprints.setSecret(name, body.value, actorOf(req)));
    },
  );

  routes.add({ method: 'delete', path: '/secrets/:name', summary: 'Delete a site secret' }, async (req, res) => {
    const name = secretName(req.params.name);
    res.json(await services.blueprints.deleteSecret(name, actorOf(req)));
  });

  return routes;
}
