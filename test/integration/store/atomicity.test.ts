/**
 * One transaction per use case, proved by breaking each one: the store's fault hook throws before the
 * k-th repository call a use case makes inside its transaction, for every k until the use case runs to
 * its end, and after each failure the database dump must be exactly what it was before the attempt.
 * Then the use case runs for real (the next one builds on it). Both engines.
 *
 * PostgreSQL sequences are not transactional (a rolled-back insert still consumes its id): the dump is
 * compared without `setval` lines there. Nothing else is filtered.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { adminHooksFor } from '../../../core/services/admin-hooks';
import { createDomainEvents } from '../../../core/services/domain-events';
import type { ServiceDeps } from '../../../core/services/deps';
import { nodeView } from '../../../core/annealer/node-view';
import { startTestAnneal, type TestAnneal } from '../../helpers/anneal';
import { dumpDatabase, engines, requireEngine, type TestDatabase } from '../../helpers/engines';

const ACTOR = 'test';
const FAULT = 'injected fault';

function dump(db: TestDatabase): string {
  return dumpDatabase(db).replace(/^SELECT pg_catalog\.setval\(.*$/gm, '');
}

/** Raw SQL for what no use case does on its own here (a converged or failed node-role without the annealer). */
function sql(db: TestDatabase, statement: string): void {
  if (db.target.engine === 'sqlite') execFileSync('sqlite3', [db.target.url, statement]);
  else execFileSync('psql', ['-q', '-v', 'ON_ERROR_STOP=1', db.target.url, '-c', statement]);
}

for (const engine of engines) {
  describe(`[${engine}] store/atomicity: every use case is one transaction`, function () {
    this.timeout(300_000);
    let anneal: TestAnneal;
    /** Use case → how many points it was broken at. */
    const broken = new Map<string, number>();

    before(async function () {
      await requireEngine(this, engine);
      anneal = await startTestAnneal(engine);
    });
    after(async () => {
      anneal?.store.setFaultHook(null);
      await anneal?.dispose();
    });

    /**
     * Breaks `run` at each of its repository calls in turn (dump unchanged after each), then lets it
     * finish and returns its result.
     */
    async function atomically<T>(name: string, run: () => Promise<T>): Promise<T> {
      const before = dump(anneal.db);
      for (let k = 1; ; k++) {
        let calls = 0;
        let at = '';
        anneal.store.setFaultHook((call) => {
          calls += 1;
          if (calls === k) {
            at = call;
            throw new Error(`${FAULT} before ${call}`);
          }
        });
        let result: T;
        try {
          result = await run();
        } catch (err) {
          anneal.store.setFaultHook(null);
          expect((err as Error).message, `${name}, fault ${k}`).to.include(FAULT);
          expect(dump(anneal.db), `${name}: database changed after a fault before call ${k} (${at})`).to.equal(before);
          continue;
        }
        anneal.store.setFaultHook(null);
        expect(calls, `${name} ran to its end although call ${k} should have failed`).to.be.lessThan(k);
        expect(k - 1, `${name} made fewer than two repository calls in its transaction`).to.be.at.least(2);
        broken.set(name, k - 1);
        return result!;
      }
    }

    const id = async (node: string) => (await anneal.store.nodes.get(node)).id;
    async function nodeRoleId(role: string, node: string): Promise<number> {
      const nr = (await anneal.store.nodeRoles.list({ nodeId: await id(node) })).find((x) => x.role === role);
      if (!nr) throw new Error(`no ${role} on ${node}`);
      return nr.id;
    }

    it('leaves the database unchanged when any use case fails between two of its writes', async () => {
      const { inventory, binding, changes, lifecycle, networks, power, tokens } = anneal.services;
      const system = await anneal.store.deployments.get('system');

      // Inventory, binding, commit/propose, attribs.
      await atomically('createNode', () => inventory.createNode({ name: 'n1.lab', alive: true }, ACTOR));
      await atomically('bind (with what it requires)', async () =>
        binding.bind(system.id, 'test-ready', await id('n1.lab'), ACTOR),
      );
      for (const name of ['n2.lab', 'n3.lab']) {
        await inventory.createNode({ name, alive: true }, ACTOR);
        await binding.bind(system.id, 'test-ready', await id(name), ACTOR);
      }
      await atomically('updateNode', () => inventory.updateNode('n1.lab', { description: 'rack 4' }, ACTOR));
      await atomically('commitDeployment system', () => changes.commitDeployment('system', ACTOR));
      await atomically('proposeNode', () => changes.proposeNode('n3.lab', ACTOR));
      await atomically('commitNode', () => changes.commitNode('n3.lab', ACTOR));
      await atomically('setAttrib', () => changes.setAttrib('deployment', system.id, 'test/marker', 'two', ACTOR));
      await atomically('commitDeployment (attrib change)', () => changes.commitDeployment('system', ACTOR));
      await atomically('proposeDeployment', () => changes.proposeDeployment('system', ACTOR));
      await atomically('commitDeployment again', () => changes.commitDeployment('system', ACTOR));

      // As if converged: every node-role active (the annealer is not running in this test).
      sql(anneal.db, `UPDATE "NodeRole" SET "state" = 'active'`);
      const hooks = adminHooksFor(
        {
          store: anneal.store,
          registry: anneal.registry,
          now: Date.now,
          events: createDomainEvents(),
          managedPublicKey: null,
          power: {} as ServiceDeps['power'],
        },
        anneal.services,
      );
      const n2 = await anneal.store.nodes.get('n2.lab');
      await atomically('recordAttribs (an action’s write-back)', () =>
        hooks(nodeView(n2)).recordAttribs({ 'test/marker': 'from-the-node' }),
      );
      await atomically('rerunNodeRole', async () =>
        changes.rerunNodeRole(await nodeRoleId('test-os', 'n2.lab'), ACTOR),
      );
      const failed = await nodeRoleId('test-os', 'n3.lab');
      sql(anneal.db, `UPDATE "NodeRole" SET "state" = 'error' WHERE "id" = ${failed}`);
      await atomically('retry', () => changes.retry(failed, ACTOR));

      // The way out: a tenant with a cluster, unbind, delete, move, retire (with and without force).
      const tenant = await atomically('createDeployment', () => inventory.createDeployment({ name: 'tenant' }, ACTOR));
      await atomically('moveNode into tenant', () => lifecycle.moveNode('n1.lab', 'tenant', {}, ACTOR));
      await lifecycle.moveNode('n2.lab', 'tenant', {}, ACTOR);
      await binding.bind(tenant.id, 'test-cluster', await id('n1.lab'), ACTOR);
      await atomically('bind a second cluster member (children re-run)', async () =>
        binding.bind(tenant.id, 'test-cluster', await id('n2.lab'), ACTOR),
      );
      for (const n of ['n1.lab', 'n2.lab']) await binding.bind(tenant.id, 'test-members', await id(n), ACTOR);
      await atomically('commitDeployment tenant', () => changes.commitDeployment('tenant', ACTOR));
      sql(anneal.db, `UPDATE "NodeRole" SET "state" = 'active'`);
      await atomically('unbind a cluster member', () =>
        lifecycle.unbind('tenant', 'test-cluster', 'n2.lab', {}, ACTOR),
      );
      await atomically('unbind with force', () =>
        lifecycle.unbind('tenant', 'test-members', 'n1.lab', { force: true }, ACTOR),
      );
      await atomically('moveNode between deployments', () => lifecycle.moveNode('n2.lab', 'system', {}, ACTOR));
      await atomically('deleteDeployment', () => lifecycle.deleteDeployment('tenant', {}, ACTOR));
      await inventory.createDeployment({ name: 'tenant-2' }, ACTOR);
      await lifecycle.moveNode('n3.lab', 'tenant-2', {}, ACTOR);
      await binding.bind(
        (await anneal.store.deployments.get('tenant-2')).id,
        'test-cluster',
        await id('n3.lab'),
        ACTOR,
      );
      await atomically('deleteDeployment with force', () =>
        lifecycle.deleteDeployment('tenant-2', { force: true }, ACTOR),
      );

      // IPAM, BMC settings, tokens.
      await atomically('createNetwork', () => networks.createNetwork({ name: 'admin', cidr: '10.66.0.0/24' }, ACTOR));
      await atomically('createRange', () =>
        networks.createRange('admin', { name: 'hosts', first: '10.66.0.10', last: '10.66.0.20' }, ACTOR),
      );
      const allocated = await atomically('allocate', () => networks.allocate('admin', { node: 'n3.lab' }, ACTOR));
      await atomically('configureBmc', () =>
        power.configureBmc('n3.lab', { address: '127.0.0.1:1', username: 'u', password: 'secret-pw' }, ACTOR),
      );
      const token = await atomically('create token', () => tokens.create({ name: 'ops', role: 'operator' }, ACTOR));
      await atomically('revoke token', () => tokens.revoke(token.id, ACTOR));
      await atomically('retireNode', () => lifecycle.retireNode('n2.lab', {}, ACTOR));
      await atomically('retireNode with force (allocations, secrets go)', () =>
        lifecycle.retireNode('n3.lab', { force: true }, ACTOR),
      );
      expect((await networks.listAllocations('admin')).map((a) => a.address)).to.not.include(
        allocated.allocation.address,
      );
      await atomically('deleteRange', () => networks.deleteRange('admin', 'hosts', ACTOR));
      await atomically('deleteNetwork', () => networks.deleteNetwork('admin', ACTOR));

      // Every use case above was broken at least twice; print how often, for the closing note.
      expect(broken.size).to.equal(32);
      const total = [...broken.values()].reduce((a, b) => a + b, 0);
      console.log(`      ${broken.size} use cases broken at ${total} points, database unchanged each time`);
      console.log(`      ${[...broken].map(([n, k]) => `${n}: ${k}`).join(', ')}`);
    });
  });
}
