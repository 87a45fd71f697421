/**
 * Blueprints (DESIGN §7b): validate, plan, apply and export; site secrets. The format and the plan are pure
 * (core/domain/blueprint*.ts); this service checks a blueprint against the catalog, reads the site from the
 * store, and applies a plan as one use case — all or nothing, committed, audited.
 *
 * Contracts:
 * - validate/plan write nothing. Errors: ERR_BLUEPRINT_INVALID (with `details.issues`, each naming the
 *   field and the fix), ERR_SECRET_NOT_FOUND, ERR_PLACEMENT_UNSATISFIABLE, ERR_BLUEPRINT_CONFLICT.
 * - apply plans again inside its transaction and writes that plan; given the fingerprint of a saved plan,
 *   it refuses (ERR_PLAN_STALE, nothing written) when the site the plan was made from has changed.
 * - Secret values never leave: a secret attrib is planned, shown and exported as `{secretRef: NAME}`; a
 *   value set by hand that no site secret holds shows as "[secret set by hand]".
 */
import { createHash } from 'node:crypto';
import {
  applyOverlay,
  checkBlueprint,
  isSecretRef,
  overlaySchema,
  parseYaml,
  type Blueprint,
  type BlueprintIssue,
  type Parsed,
} from '../domain/blueprint';
import { exportBlueprint } from '../domain/blueprint-export';
import {
  canonicalJson,
  planBlueprint,
  type GraphDelta,
  type Plan,
  type PlanRole,
  type Site,
} from '../domain/blueprint-plan';
import { planLines } from '../domain/blueprint-plan-text';
import { AppError } from '../errors';
import type { Repos } from '../store';
import type { SiteRows } from '../store/blueprint-site';
import { audit, useCase, type Actor, type ServiceDeps, type UnitOfWork } from './deps';

/** A blueprint as the API and CLI send it: YAML text or an already parsed document. */
export type BlueprintInput = string | Record<string, unknown>;

export interface PlanRequest {
  blueprint: BlueprintInput;
  overlay?: BlueprintInput;
}

/** What the fingerprint covers, section by section, so a stale plan can say what changed. */
export const fingerprintSections = ['deployment', 'nodes', 'nodeRoles', 'attribs', 'secrets'] as const;
export type Fingerprint = { value: string; sections: Record<(typeof fingerprintSections)[number], string> };

export interface PlanResponse {
  plan: Plan;
  /** The plan as text, Terraform-style. */
  text: string[];
  /** The state the plan was made from; `apply` with it refuses a changed site. */
  fingerprint: Fingerprint;
  /** The blueprint after the overlay, as planned: what a saved plan applies. */
  blueprint: Blueprint;
}

/** Marks a secret attrib's value that no site secret holds (it is never shown). */
export const SECRET_SET_BY_HAND = '[secret set by hand]';

export interface BlueprintServices {
  changes: {
    setAttrib(
      scope: 'deployment' | 'node',
      targetId: number,
      name: string,
      value: unknown,
      actor: Actor,
      outer: UnitOfWork,
    ): Promise<void>;
    commitDeployment(ref: number | string, actor: Actor, outer: UnitOfWork): Promise<unknown>;
  };
  inventory: {
    createDeployment(
      input: { name: string; description?: string; parent?: string | number },
      actor: Actor,
      outer: UnitOfWork,
    ): Promise<{ id: number }>;
  };
  lifecycle: {
    moveNode(
      node: number | string,
      to: number | string,
      opts: { bindRoles?: boolean },
      actor: Actor,
      outer: UnitOfWork,
    ): Promise<unknown>;
    unbind(
      ref: number | string,
      role: string,
      node: number | string,
      opts: object,
      actor: Actor,
      outer: UnitOfWork,
    ): Promise<unknown>;
  };
}

const invalid = (issues: BlueprintIssue[]) =>
  new AppError(
    'ERR_BLUEPRINT_INVALID',
    issues
      .slice(0, 5)
      .map((i) => `${i.field}: ${i.message}`)
      .join('; ') + (issues.length > 5 ? ` (and ${issues.length - 5} more in details.issues)` : ''),
    { details: { issues } },
  );

function unwrap<T>(p: Parsed<T>): T {
  if (!p.ok) throw invalid(p.issues);
  return p.value;
}

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

export function blueprintsService(deps: ServiceDeps, services: BlueprintServices) {
  const { registry } = deps;

  const planRoles = new Map<string, PlanRole>(
    registry.rolesInOrder.map((r) => [
      r.name,
      {
        name: r.name,
        requires: r.requires,
        precedes: r.precedes,
        flags: r.flags,
        wants: r.wants,
        rerunOnNewChild: !!r.spec.rerunOnNewChild,
      },
    ]),
  );

  function documentOf(input: BlueprintInput, what: string): unknown {
    if (typeof input !== 'string') return input;
    const parsed = parseYaml(input);
    if (!parsed.ok) throw invalid(parsed.issues.map((i) => ({ ...i, field: `${what} ${i.field}` })));
    return parsed.value;
  }

  /** The format, then the catalog: roles and attribs exist, values fit, secrets are references. */
  function validate(req: PlanRequest): Blueprint {
    let bp = unwrap(checkBlueprint(documentOf(req.blueprint, 'blueprint')));
    if (req.overlay !== undefined) {
      const o = overlaySchema.safeParse(documentOf(req.overlay, 'overlay'));
      if (!o.success) {
        throw invalid(o.error.issues.map((i) => ({ field: `overlay.${i.path.join('.')}`, message: i.message })));
      }
      bp = unwrap(applyOverlay(bp, o.data));
    }
    const issues: BlueprintIssue[] = [];
    const checkAttribs = (values: Record<string, unknown>, at: string) => {
      for (const [name, value] of Object.entries(values)) {
        const field = `${at}.attribs.${name}`;
        const def = registry.attribs.get(name);
        if (!def) {
          issues.push({ field, message: `no attrib "${name}" in the catalog (GET /api/v2/attribs lists them)` });
          continue;
        }
        if (def.secret) {
          if (!isSecretRef(value)) {
            issues.push({
              field,
              message: `"${name}" is a secret: give a reference {secretRef: NAME} and set the value per site with \`anneal secrets set NAME\`, never the value`,
            });
          }
          continue;
        }
        if (isSecretRef(value)) {
          issues.push({ field, message: `"${name}" is not a secret attrib: give its value, not a secretRef` });
          continue;
        }
        const checked = registry.validateAttribValue(name, value);
        if (!checked.ok)
          for (const i of checked.issues) issues.push({ field: `${at}.attribs.${i.field}`, message: i.message });
      }
    };
    checkAttribs(bp.spec.attribs, 'spec');
    bp.spec.groups.forEach((g, gi) => {
      g.roles.forEach((r, ri) => {
        if (!registry.roles.has(r)) {
          issues.push({
            field: `spec.groups[${gi}].roles[${ri}]`,
            message: `no role "${r}" in the catalog (GET /api/v2/roles lists them; is its barclamp or workload loaded?)`,
          });
        }
      });
      checkAttribs(g.attribs, `spec.groups[${gi}]`);
    });
    if (issues.length) throw invalid(issues);
    return bp;
  }

  /** Secret attribs' values as references (or the "set by hand" marker); other values parsed. */
  function valueOf(attrib: string, json: string, secretNames: Map<string, string>): unknown {
    if (!registry.attribs.get(attrib)?.secret) return JSON.parse(json) as unknown;
    const name = secretNames.get(json);
    return name ? { secretRef: name } : SECRET_SET_BY_HAND;
  }

  /** The site as the pure plan sees it, and the fingerprint of what it read. */
  async function siteOf(tx: Repos, bp: Blueprint): Promise<{ site: Site; fingerprint: Fingerprint; rows: SiteRows }> {
    const rows = await tx.blueprintSite.read(bp.spec.deployment.name, bp.spec.deployment.parent);
    const ids = await tx.catalog.ids();
    const roleName = new Map([...ids.roleIds].map(([n, id]) => [id, n]));
    const attribName = new Map([...ids.attribIds].map(([n, id]) => [id, n]));
    const secrets = await tx.siteSecrets.values();
    // value (as stored JSON) → secret name; the smallest name wins when two secrets hold one value.
    const secretNames = new Map<string, string>();
    for (const [name, value] of [...secrets].sort(([a], [b]) => (a < b ? 1 : -1)))
      secretNames.set(JSON.stringify(value), name);
    const attribsOf = (m: Map<number, string> | undefined) =>
      Object.fromEntries(
        [...(m ?? [])].map(([id, json]) => [attribName.get(id)!, valueOf(attribName.get(id)!, json, secretNames)]),
      );
    const inventory = (facts: Record<string, unknown>) => {
      const inv = (facts.inventory ?? {}) as { disks?: unknown[]; memoryMb?: number; cpu?: { threads?: number } };
      return {
        disks: Array.isArray(inv.disks) ? inv.disks.length : 0,
        memoryMiB: typeof inv.memoryMb === 'number' ? inv.memoryMb : 0,
        cpus: typeof inv.cpu?.threads === 'number' ? inv.cpu.threads : 0,
      };
    };
    const site: Site = {
      deployment: rows.deployment,
      parent: rows.parent,
      ancestorIds: rows.ancestorIds,
      nodes: rows.nodes.map((n) => ({
        id: n.id,
        name: n.name,
        tags: n.tags,
        deploymentId: n.deploymentId,
        ...inventory(n.facts),
      })),
      nodeRoles: rows.nodeRoles.map((nr) => ({
        id: nr.id,
        role: roleName.get(nr.roleId)!,
        nodeId: nr.nodeId,
        deploymentId: nr.deploymentId,
        state: nr.state,
        cohort: nr.cohort,
      })),
      rolesInAncestors: new Map(
        [...rows.rolesInAncestors].map(([d, byRole]) => [
          d,
          new Map([...byRole].map(([roleId, first]) => [roleName.get(roleId)!, first])),
        ]),
      ),
      edges: rows.edges,
      deploymentAttribs: attribsOf(rows.deploymentAttribs),
      nodeAttribs: new Map([...rows.nodeAttribs].map(([nodeId, m]) => [nodeId, attribsOf(m)])),
      roles: planRoles,
    };
    const referenced = new Set<string>();
    const collect = (values: Record<string, unknown>) => {
      for (const v of Object.values(values)) if (isSecretRef(v)) referenced.add(v.secretRef);
    };
    collect(bp.spec.attribs);
    bp.spec.groups.forEach((g) => collect(g.attribs));
    const missing = [...referenced].filter((n) => !secrets.has(n)).sort();
    if (missing.length) {
      throw new AppError(
        'ERR_SECRET_NOT_FOUND',
        `site secret${missing.length > 1 ? 's' : ''} ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} not set here: set ${missing.length > 1 ? 'each' : 'it'} with \`anneal secrets set NAME\` (value on stdin), then plan again`,
        { details: { missing } },
      );
    }
    return {
      site,
      rows,
      fingerprint: fingerprintOf(
        site,
        [...referenced].sort().map((n) => [n, secrets.get(n)!]),
      ),
    };
  }

  function fingerprintOf(site: Site, secrets: [string, string][]): Fingerprint {
    const d = site.deployment;
    const sections = {
      deployment: sha(canonicalJson({ d: d && [d.id, d.state === 'proposed', d.parent], p: site.parent?.id ?? null })),
      nodes: sha(
        canonicalJson(
          [...site.nodes]
            .sort((a, b) => a.id - b.id)
            .map((n) => [n.id, n.name, n.deploymentId, n.tags, n.disks, n.memoryMiB, n.cpus]),
        ),
      ),
      nodeRoles: sha(
        canonicalJson(
          [...site.nodeRoles]
            .sort((a, b) => a.id - b.id)
            .map((nr) => [
              nr.id,
              nr.role,
              nr.nodeId,
              nr.deploymentId,
              nr.state === 'removing' || nr.state === 'remove-error',
            ]),
        ),
      ),
      attribs: sha(
        canonicalJson({
          d: site.deploymentAttribs,
          n: [...site.nodeAttribs].sort(([a], [b]) => a - b),
        }),
      ),
      secrets: sha(canonicalJson(secrets.map(([n, v]) => [n, sha(v)]))),
    };
    return { value: sha(canonicalJson(sections)), sections };
  }

  async function planIn(
    tx: Repos,
    bp: Blueprint,
  ): Promise<Omit<PlanResponse, 'blueprint'> & { rows: SiteRows; delta: GraphDelta }> {
    const { site, fingerprint, rows } = await siteOf(tx, bp);
    const result = planBlueprint(bp, site);
    if (!result.ok) {
      const conflict = result.issues.some((i) => i.field.startsWith('spec.deployment'));
      throw new AppError(
        conflict ? 'ERR_BLUEPRINT_CONFLICT' : 'ERR_PLACEMENT_UNSATISFIABLE',
        result.issues.map((i) => (conflict ? i.message : `${i.field}: ${i.message}`)).join('; '),
        { details: { issues: result.issues } },
      );
    }
    return { plan: result.plan, text: planLines(result.plan), fingerprint, rows, delta: result.delta };
  }

  /** Plans a blueprint against this site; writes nothing. */
  async function plan(req: PlanRequest): Promise<PlanResponse> {
    const bp = validate(req);
    const { plan, text, fingerprint } = await deps.store.transaction((tx) => planIn(tx, bp));
    return { plan, text, fingerprint, blueprint: bp };
  }

  /**
   * Applies a blueprint in one transaction: plans it again on the transaction's view of the site (refusing
   * a saved plan's stale fingerprint), then creates the deployment, moves nodes in and out, unbinds what the
   * blueprint does not name, binds what it does, sets attribs and commits. Returns the plan it applied.
   */
  async function apply(req: PlanRequest & { fingerprint?: Fingerprint }, actor: Actor) {
    const bp = validate(req);
    return useCase(deps, async (uow) => {
      const { tx } = uow;
      const planned = await planIn(tx, bp);
      const { plan } = planned;
      if (req.fingerprint && req.fingerprint.value !== planned.fingerprint.value) {
        const changed = fingerprintSections.filter(
          (s) => req.fingerprint!.sections[s] !== planned.fingerprint.sections[s],
        );
        throw new AppError(
          'ERR_PLAN_STALE',
          `the saved plan is stale: ${describeChanged(changed, bp.spec.deployment.name)} changed since it was made; nothing was applied — run \`anneal blueprints plan\` again and apply the new plan`,
          { details: { changed } },
        );
      }
      if (plan.changes === 0) return { applied: false, plan, text: planned.text };
      const d = plan.createDeployment
        ? await services.inventory.createDeployment(
            { name: plan.deployment, parent: plan.parent, description: bp.spec.deployment.description },
            actor,
            uow,
          )
        : await tx.deployments.get(plan.deployment);
      const nodeIds = new Map(planned.rows.nodes.map((n) => [n.name, n.id]));
      for (const u of plan.unbind.filter((x) => x.reason === 'not-in-blueprint')) {
        const nr = await tx.nodeRoles.find(u.nodeRoleId);
        if (nr && nr.state !== 'removing' && nr.state !== 'remove-error')
          await services.lifecycle.unbind(d.id, u.role, nodeIds.get(u.node)!, {}, actor, uow);
      }
      for (const n of plan.leaves) await services.lifecycle.moveNode(n, plan.parent, { bindRoles: false }, actor, uow);
      const now = deps.now();
      // Joining nodes come from the parent: none of their node-roles is removed, so they move in bulk.
      await tx.nodes.moveMany(
        plan.joins.map((n) => nodeIds.get(n)!),
        d.id,
        now,
      );
      await bindDelta(uow, d.id, planned.delta, now);
      const secrets = plan.attribs.some((a) => isSecretRef(a.to)) ? await tx.siteSecrets.values() : new Map();
      const valueFor = (v: unknown) => (isSecretRef(v) ? secrets.get(v.secretRef) : v);
      for (const a of plan.attribs) {
        const target = a.scope === 'deployment' ? d.id : nodeIds.get(a.target)!;
        await services.changes.setAttrib(a.scope, target, a.attrib, valueFor(a.to), actor, uow);
      }
      if (plan.commit) await services.changes.commitDeployment(d.id, actor, uow);
      await audit(
        uow,
        [
          {
            actor,
            type: 'blueprint.apply',
            objectType: 'deployment',
            objectId: d.id,
            data: {
              blueprint: plan.blueprint,
              changes: plan.changes,
              joins: plan.joins,
              leaves: plan.leaves,
              bind: plan.bind.length,
              unbind: plan.unbind.length,
              attribs: plan.attribs.map((a) => ({ scope: a.scope, target: a.target, attrib: a.attrib })),
            },
          },
        ],
        deps.now(),
      );
      return { applied: true, plan, text: planned.text };
    });
  }

  /**
   * Writes the node-roles and edges the plan's binding simulation made (core/domain/blueprint-plan.ts
   * follows core/services/binding.ts rule for rule), in bulk: ids -1 are the deployment's service node;
   * binding's re-runs (a service with new children, a cluster's children on a new member) are bumped.
   */
  async function bindDelta(uow: UnitOfWork, deploymentId: number, delta: GraphDelta, now: number) {
    if (!delta.nodeRoles.length) return;
    const { tx } = uow;
    const { roleIds } = await tx.catalog.ids();
    const svc = await tx.nodes.serviceNode(deploymentId);
    const nodeOf = (id: number) => (id === -1 ? svc!.id : id);
    await tx.nodeRoles.insertGraph(
      deploymentId,
      delta.nodeRoles.map((r) => ({
        key: r.id,
        roleId: roleIds.get(r.role)!,
        nodeId: nodeOf(r.nodeId),
        cohort: r.cohort,
      })),
      delta.edges,
      now,
    );
    for (const role of new Set(delta.nodeRoles.map((r) => r.role)))
      await tx.deployments.addRole(deploymentId, roleIds.get(role)!);
    if (delta.bumps.length) await tx.nodeRoles.bump(delta.bumps, now);
    uow.emit({ type: 'work' });
  }

  /** A deployment as a blueprint: no node names, MACs or secret values. */
  async function exportDeployment(ref: number | string): Promise<Blueprint> {
    return deps.store.transaction(async (tx) => {
      const d = await tx.deployments.get(ref);
      if (d.parentId === null) {
        throw new AppError(
          'ERR_DEPLOYMENT_PROTECTED',
          `deployment ${d.name} is the root of the tree: export the deployments under it`,
        );
      }
      const parent = await tx.deployments.get(d.parentId);
      const bp: Blueprint = {
        apiVersion: 'anneal/v1',
        kind: 'Blueprint',
        metadata: { name: 'export' },
        spec: { deployment: { name: d.name, parent: parent.name }, attribs: {}, groups: [] },
      };
      const { site } = await siteOf(tx, bp);
      const mine = site.nodes.filter((n) => n.deploymentId === d.id);
      return exportBlueprint({
        deployment: { name: d.name, parent: parent.name, description: d.description },
        nodes: mine,
        nodeRoles: site.nodeRoles.filter((nr) => nr.deploymentId === d.id),
        deploymentAttribs: site.deploymentAttribs,
        nodeAttribs: site.nodeAttribs,
        roles: planRoles,
      });
    });
  }

  /** Sets a site secret (write-only). Audited by name; the value is never recorded. */
  async function setSecret(name: string, value: string, actor: Actor) {
    return useCase(deps, async (uow) => {
      const now = deps.now();
      const changed = await uow.tx.siteSecrets.set(name, value, now);
      if (changed) {
        await audit(uow, [{ actor, type: 'secret.set', objectType: 'secret', data: { name } }], now);
      }
      return { name, changed };
    });
  }

  async function deleteSecret(name: string, actor: Actor) {
    return useCase(deps, async (uow) => {
      if (!(await uow.tx.siteSecrets.remove(name))) {
        throw new AppError('ERR_SECRET_NOT_FOUND', `no site secret "${name}" here (anneal secrets list shows them)`);
      }
      await audit(uow, [{ actor, type: 'secret.delete', objectType: 'secret', data: { name } }], deps.now());
      return { name, deleted: true };
    });
  }

  return { validate, plan, apply, exportDeployment, setSecret, deleteSecret };
}

function describeChanged(sections: readonly string[], deployment: string): string {
  const words: Record<string, string> = {
    deployment: `deployment ${deployment}`,
    nodes: 'the candidate nodes (membership, tags or inventory)',
    nodeRoles: `the node-roles of ${deployment} or its nodes`,
    attribs: 'attrib values',
    secrets: 'the site secrets it refers to',
  };
  return sections.map((s) => words[s] ?? s).join(', ');
}
