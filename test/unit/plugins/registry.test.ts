import { expect } from 'chai';
import { join } from 'node:path';
import { z } from 'zod';
import { AppError, type ErrorCode } from '../../../core/errors';
import type { PluginManifest } from '../../../core/plugins/manifest';
import { loadRegistry, roleTemplateData, type PluginProblem } from '../../../core/plugins/registry';
import { barclamps } from '../../../barclamps';
import { workloads } from '../../../workloads';
import testBarclamp from '../../fixtures/barclamps/test/manifest';
import { badDefaultPlugin } from '../../fixtures/barclamps/bad/bad-default';
import { badTemplatePlugin } from '../../fixtures/barclamps/bad/bad-template';
import { cyclePlugin, precedesCyclePlugin } from '../../fixtures/barclamps/bad/cycle';
import { duplicateA, duplicateAttribB, duplicateB } from '../../fixtures/barclamps/bad/duplicate';
import * as invalid from '../../fixtures/barclamps/bad/invalid';
import { unknownAttribPlugin } from '../../fixtures/barclamps/bad/unknown-attrib';
import { unresolvedPlugin } from '../../fixtures/barclamps/bad/unresolved';

/** Loads and returns the thrown AppError (fails the test if loading succeeds). */
function loadError(plugins: PluginManifest[]): AppError & { details: { problems: PluginProblem[] } } {
  try {
    loadRegistry(plugins);
  } catch (err) {
    expect(err).to.be.instanceOf(AppError);
    return err as AppError & { details: { problems: PluginProblem[] } };
  }
  throw new Error('expected loadRegistry to throw');
}

/** Asserts one problem with this code exists for plugin/role/field, that both the problem and the error message say so. */
function expectProblem(
  err: ReturnType<typeof loadError>,
  code: ErrorCode,
  at: { plugin: string; role?: string; attrib?: string; field: string },
  ...mentions: string[]
): PluginProblem {
  const match = err.details.problems.find(
    (p) =>
      p.code === code && p.plugin === at.plugin && p.role === at.role && p.attrib === at.attrib && p.field === at.field,
  );
  expect(match, `${code} for ${JSON.stringify(at)} in ${JSON.stringify(err.details.problems, null, 2)}`).not.to.equal(
    undefined,
  );
  const p = match as PluginProblem;
  expect(p.message).to.include(`plugin "${at.plugin}"`).and.include(`field ${at.field}:`);
  if (at.role) expect(p.message).to.include(`role "${at.role}"`);
  if (at.attrib) expect(p.message).to.include(`attrib "${at.attrib}"`);
  for (const m of mentions) expect(p.message).to.include(m);
  expect(err.message).to.include(p.message.split('\n')[0]);
  return p;
}

describe('plugins/registry', () => {
  describe('the test fixture barclamp', () => {
    const registry = loadRegistry([testBarclamp]);

    it('loads every role and attrib', () => {
      expect([...registry.roles.keys()].sort()).to.deep.equal([
        'test-cluster',
        'test-discover',
        'test-hardware',
        'test-member',
        'test-members',
        'test-node-file',
        'test-os',
        'test-progress',
        'test-ready',
        'test-registry',
        'test-remote',
        'test-script',
        'test-service',
        'test-workload',
      ]);
      expect([...registry.attribs.keys()].sort()).to.deep.equal([
        'test/delay-ms',
        'test/fail',
        'test/marker',
        'test/secret',
      ]);
    });

    it('orders roles so requires come first', () => {
      const order = registry.rolesInOrder.map((r) => r.name);
      for (const r of registry.rolesInOrder) {
        for (const req of r.requires)
          expect(order.indexOf(req), `${req} before ${r.name}`).to.be.lessThan(order.indexOf(r.name));
      }
      expect(order[0]).to.equal('test-discover');
      expect(order.at(-1)).to.equal('test-workload');
    });

    it('computes cohorts from requires', () => {
      const cohorts = Object.fromEntries(registry.rolesInOrder.map((r) => [r.name, r.cohort]));
      expect(cohorts).to.deep.equal({
        'test-discover': 0,
        'test-service': 0,
        'test-progress': 0,
        'test-registry': 0,
        'test-member': 1,
        'test-hardware': 1,
        'test-script': 1,
        'test-remote': 1,
        'test-os': 2,
        'test-ready': 3,
        'test-cluster': 4,
        'test-workload': 5,
        'test-members': 5,
        'test-node-file': 5,
      });
    });

    it('fills role defaults and freezes what it loaded', () => {
      const r = registry.role('test-ready');
      expect(r).to.include({
        plugin: 'test',
        pluginKind: 'barclamp',
        jig: 'noop',
        timeoutMs: 600_000,
        scriptTemplate: null,
      });
      expect([...r.flags]).to.deep.equal(['implicit']);
      expect(r.wants).to.deep.equal(['test/delay-ms', 'test/marker']);
      expect(Object.isFrozen(r)).to.equal(true);
      expect(Object.isFrozen(registry.rolesInOrder)).to.equal(true);
      expect(registry.role('test-script')).to.include({ jig: 'local', scriptTemplate: 'test-script.sh.hbs' });
    });

    it('describes attribs with JSON Schema, defaults and secrecy', () => {
      const delay = registry.attrib('test/delay-ms');
      expect(delay).to.include({ plugin: 'test', hasDefault: true, default: 0, secret: false });
      expect(delay.jsonSchema).to.include({ type: 'integer', minimum: 0 });
      expect(registry.attrib('test/secret').secret).to.equal(true);
      expect(registry.attrib('test/fail').default).to.deep.equal({ roles: [], times: 0 });
    });

    it('validates attrib values, naming the attrib and zod path', () => {
      expect(registry.validateAttribValue('test/delay-ms', 5)).to.deep.equal({ ok: true, value: 5 });
      expect(registry.validateAttribValue('test/delay-ms', -1)).to.have.property('ok', false);
      const bad = registry.validateAttribValue('test/fail', { roles: ['a', 3], times: 1 });
      expect(bad.ok).to.equal(false);
      if (!bad.ok) expect(bad.issues.map((i) => i.field)).to.deep.equal(['test/fail.roles[1]']);
    });

    it('throws not-found errors for unknown roles and attribs', () => {
      expect(() => registry.role('nope'))
        .to.throw(AppError)
        .with.property('code', 'ERR_ROLE_NOT_FOUND');
      expect(() => registry.attrib('test/nope'))
        .to.throw(AppError)
        .with.property('code', 'ERR_ATTRIB_NOT_FOUND');
      expect(() => registry.validateAttribValue('test/nope', 1))
        .to.throw(AppError)
        .with.property('code', 'ERR_ATTRIB_NOT_FOUND');
    });

    it('renders the default script with {node, role, deployment, attribs}', () => {
      const role = registry.role('test-script');
      const path = registry.templatePath(role.name, role.scriptTemplate as string);
      expect(path).to.equal(join(testBarclamp.dir, 'templates', 'test-script.sh.hbs'));
      const node = {
        id: 1,
        name: 'n1.lab',
        macs: [],
        bmcAddress: null,
        address: null,
        admin: false,
        system: false,
        facts: {},
      };
      const script = registry.renderer.renderFile(
        path,
        roleTemplateData({ node, role: role.name, deployment: 'system', attribs: { 'test/marker': "it's" } }),
      );
      expect(script).to.include(`printf '%s\\n' 'it'\\''s' > "$out"/'n1.lab'.marker`);
    });

    it('refuses template paths outside the plugin templates directory', () => {
      expect(() => registry.templatePath('test-script', '../manifest.ts'))
        .to.throw(AppError)
        .with.property('code', 'ERR_PLUGIN_TEMPLATE');
    });

    it('has apply actions that sleep test/delay-ms and stop when aborted', async () => {
      const apply = registry.role('test-ready').spec.actions?.apply;
      if (!apply) throw new Error('test-ready has no apply');
      const node = {
        id: 1,
        name: 'n1',
        macs: [],
        bmcAddress: null,
        address: null,
        admin: false,
        system: false,
        facts: {},
      };
      const ctx = (delay: number, signal: AbortSignal) =>
        ({ node, role: 'test-ready', deployment: 'system', attribs: { 'test/delay-ms': delay }, signal }) as never;
      expect(await apply(ctx(0, new AbortController().signal))).to.deep.equal({ done: true });
      const started = Date.now();
      expect(await apply(ctx(30, new AbortController().signal))).to.deep.equal({ done: true });
      expect(Date.now() - started).to.be.at.least(25);
      const abort = new AbortController();
      const pending = apply(ctx(60_000, abort.signal));
      abort.abort(new Error('stop'));
      let reason: unknown;
      await pending.catch((err: unknown) => (reason = err));
      expect(reason).to.have.property('message', 'stop');
    });

    it('loads an empty plugin list', () => {
      expect(loadRegistry([]).rolesInOrder).to.deep.equal([]);
    });
  });

  describe('checks', () => {
    it('rejects plugin names that are not lowercase kebab-case', () => {
      const err = loadError([invalid.badPluginName]);
      expect(err.code).to.equal('ERR_PLUGIN_INVALID');
      expectProblem(err, 'ERR_PLUGIN_INVALID', { plugin: 'Bad_Name', field: 'name' }, 'kebab-case');
    });

    it('rejects role names that are not kebab-case', () => {
      expectProblem(loadError([invalid.badRoleName]), 'ERR_PLUGIN_INVALID', {
        plugin: 'bad-role-name',
        role: 'NotKebab',
        field: 'name',
      });
    });

    it('rejects a plugin dir that is not absolute', () => {
      expectProblem(loadError([invalid.relativeDir]), 'ERR_PLUGIN_INVALID', { plugin: 'relative', field: 'dir' });
    });

    it('rejects two plugins with the same name', () => {
      const err = loadError([testBarclamp, { ...testBarclamp }]);
      expect(err.code).to.equal('ERR_PLUGIN_DUPLICATE');
      expectProblem(err, 'ERR_PLUGIN_DUPLICATE', { plugin: 'test', field: 'name' });
      expect(err.details.problems).to.have.length(1);
    });

    it('rejects a role declared by two plugins, naming both', () => {
      const err = loadError([duplicateA, duplicateB]);
      expect(err.code).to.equal('ERR_PLUGIN_DUPLICATE');
      expectProblem(
        err,
        'ERR_PLUGIN_DUPLICATE',
        { plugin: 'dup-b', role: 'shared-role', field: 'name' },
        'plugin "dup-a"',
      );
    });

    it('rejects an attrib declared twice, and attribs not namespaced by their plugin', () => {
      const err = loadError([duplicateA, duplicateAttribB, invalid.wrongNamespace, invalid.unnamespaced]);
      expectProblem(
        err,
        'ERR_PLUGIN_DUPLICATE',
        { plugin: 'dup-c', attrib: 'dup-a/shared', field: 'name' },
        'plugin "dup-a"',
      );
      expectProblem(
        err,
        'ERR_PLUGIN_INVALID',
        { plugin: 'dup-c', attrib: 'dup-a/shared', field: 'name' },
        '"dup-c/<kebab-name>"',
      );
      expectProblem(err, 'ERR_PLUGIN_INVALID', { plugin: 'ns', attrib: 'other/thing', field: 'name' });
      expectProblem(err, 'ERR_PLUGIN_INVALID', { plugin: 'ns2', attrib: 'thing', field: 'name' });
    });

    it('rejects requires and precedes that do not resolve', () => {
      const err = loadError([unresolvedPlugin]);
      expect(err.code).to.equal('ERR_PLUGIN_REQUIRES_UNRESOLVED');
      const p = expectProblem(err, 'ERR_PLUGIN_REQUIRES_UNRESOLVED', {
        plugin: 'ntp',
        role: 'ntp-client',
        field: 'requires',
      });
      expect(p.message).to.equal(
        'plugin "ntp" role "ntp-client" field requires: role "ntp-server" is not declared by any plugin',
      );
      expectProblem(
        err,
        'ERR_PLUGIN_REQUIRES_UNRESOLVED',
        { plugin: 'ntp', role: 'ntp-client', field: 'precedes' },
        '"ntp-check"',
      );
    });

    it('rejects a requires cycle and prints it', () => {
      const err = loadError([cyclePlugin]);
      expect(err.code).to.equal('ERR_PLUGIN_CYCLE');
      expectProblem(
        err,
        'ERR_PLUGIN_CYCLE',
        { plugin: 'cycle', role: 'cyc-a', field: 'requires' },
        'cyc-a -> cyc-b -> cyc-c -> cyc-a',
      );
    });

    it('rejects a cycle through precedes', () => {
      const err = loadError([precedesCyclePlugin]);
      expectProblem(
        err,
        'ERR_PLUGIN_CYCLE',
        { plugin: 'precedes-cycle', role: 'pre-b', field: 'precedes' },
        'pre-a -> pre-b -> pre-a',
      );
    });

    it('rejects wants that name no declared attrib', () => {
      const err = loadError([unknownAttribPlugin]);
      expect(err.code).to.equal('ERR_PLUGIN_ATTRIB_UNKNOWN');
      expectProblem(
        err,
        'ERR_PLUGIN_ATTRIB_UNKNOWN',
        { plugin: 'lonely', role: 'lonely-role', field: 'wants' },
        '"lonely/missing"',
      );
      expect(err.details.problems).to.have.length(1);
    });

    it('accepts wants of attribs declared by another plugin', () => {
      const wanting = invalid.plugin('wanting', { wants: ['test/marker'] });
      expect(loadRegistry([testBarclamp, wanting]).role('wanting-role').wants).to.deep.equal(['test/marker']);
    });

    it('rejects defaults that fail their own schema, printing the zod issue but never the value', () => {
      const err = loadError([badDefaultPlugin]);
      expect(err.code).to.equal('ERR_PLUGIN_ATTRIB_DEFAULT');
      expectProblem(
        err,
        'ERR_PLUGIN_ATTRIB_DEFAULT',
        { plugin: 'bad-default', attrib: 'bad-default/port', field: 'default' },
        '>=1',
      );
      expectProblem(
        err,
        'ERR_PLUGIN_ATTRIB_DEFAULT',
        { plugin: 'bad-default', attrib: 'bad-default/servers', field: 'default' },
        '[1]',
      );
      expectProblem(err, 'ERR_PLUGIN_ATTRIB_DEFAULT', {
        plugin: 'bad-default',
        attrib: 'bad-default/token',
        field: 'default',
      });
      expect(err.message).not.to.include('sup3r-s3cret-value');
    });

    it('rejects unknown flags', () => {
      const err = loadError([invalid.unknownFlag]);
      expectProblem(err, 'ERR_PLUGIN_INVALID', { plugin: 'flaggy', role: 'flaggy-role', field: 'flags' }, '"sparkly"');
    });

    it('rejects implicit together with cluster', () => {
      const err = loadError([invalid.implicitCluster]);
      expectProblem(
        err,
        'ERR_PLUGIN_INVALID',
        { plugin: 'both', role: 'both-role', field: 'flags' },
        'mutually exclusive',
      );
    });

    it('rejects unknown jigs', () => {
      const err = loadError([invalid.unknownJig]);
      expectProblem(err, 'ERR_PLUGIN_INVALID', { plugin: 'jiggy', role: 'jiggy-role', field: 'jig' }, '"telnet"');
    });

    it('rejects other malformed role fields', () => {
      const err = loadError([
        invalid.plugin('fields', {
          timeoutMs: -5,
          transientExitCodes: [0, 75],
          requires: 'x' as unknown as string[],
          actions: { apply: 'run' as unknown as never },
        }),
      ]);
      const at = { plugin: 'fields', role: 'fields-role' };
      expectProblem(err, 'ERR_PLUGIN_INVALID', { ...at, field: 'timeoutMs' });
      expectProblem(err, 'ERR_PLUGIN_INVALID', { ...at, field: 'transientExitCodes' });
      expectProblem(err, 'ERR_PLUGIN_INVALID', { ...at, field: 'requires' });
      expectProblem(err, 'ERR_PLUGIN_INVALID', { ...at, field: 'actions.apply' });
    });

    it('wants exactly one of actions.remove or a non-empty noRemove on every role, naming the fix', () => {
      const remove = async () => ({ done: true as const });
      const err = loadError([
        invalid.plugin('neither', { noRemove: undefined }),
        invalid.plugin('both-removes', { actions: { remove } }),
        invalid.plugin('blank', { noRemove: '  ' }),
      ]);
      expect(err.code).to.equal('ERR_PLUGIN_INVALID');
      expectProblem(
        err,
        'ERR_PLUGIN_INVALID',
        { plugin: 'neither', role: 'neither-role', field: 'actions.remove' },
        'give the role actions.remove',
        'noRemove: "<why removing it leaves the node as it is>"',
      );
      expectProblem(
        err,
        'ERR_PLUGIN_INVALID',
        { plugin: 'both-removes', role: 'both-removes-role', field: 'noRemove' },
        'not both',
      );
      expectProblem(err, 'ERR_PLUGIN_INVALID', { plugin: 'blank', role: 'blank-role', field: 'noRemove' }, 'non-empty');
      expect(err.details.problems).to.have.length(3);
      const ok = loadRegistry([invalid.plugin('undoes', { noRemove: undefined, actions: { remove } })]);
      expect(ok.role('undoes-role').spec.actions?.remove).to.equal(remove);
    });

    it('every shipped barclamp role and fixture role says what its removal undoes', () => {
      const registry = loadRegistry([...barclamps, ...workloads, testBarclamp]);
      for (const r of registry.roles.values()) {
        const { remove } = r.spec.actions ?? {};
        expect(remove !== undefined || (r.spec.noRemove ?? '').length > 10, r.name).to.equal(true);
      }
    });

    it('rejects attribs without a zod schema', () => {
      const noSchema = invalid.plugin(
        'schemaless',
        {},
        { 'schemaless/x': { description: 'x', schema: {} as z.ZodString } },
      );
      expectProblem(loadError([noSchema]), 'ERR_PLUGIN_INVALID', {
        plugin: 'schemaless',
        attrib: 'schemaless/x',
        field: 'schema',
      });
    });

    it('rejects listed templates that are missing, do not compile or escape templates/', () => {
      const err = loadError([badTemplatePlugin]);
      expect(err.code).to.equal('ERR_PLUGIN_TEMPLATE');
      const at = { plugin: 'bad-template', field: 'templates' };
      expectProblem(
        err,
        'ERR_PLUGIN_TEMPLATE',
        { ...at, role: 'listed-missing' },
        'missing.conf.hbs',
        'does not exist',
      );
      expectProblem(err, 'ERR_PLUGIN_TEMPLATE', { ...at, role: 'listed-broken' }, 'broken.conf.hbs', 'Parse error');
      expectProblem(err, 'ERR_PLUGIN_TEMPLATE', { ...at, role: 'listed-escape' }, 'outside');
    });

    it('requires templates/<role>.sh.hbs to exist and compile for local/ssh roles without apply', () => {
      const err = loadError([badTemplatePlugin]);
      const at = { plugin: 'bad-template', field: 'actions.apply' };
      expectProblem(
        err,
        'ERR_PLUGIN_TEMPLATE',
        { ...at, role: 'script-missing' },
        'script-missing.sh.hbs',
        'does not exist',
      );
      expectProblem(err, 'ERR_PLUGIN_TEMPLATE', { ...at, role: 'script-broken' }, 'script-broken.sh.hbs', 'shqq');
      const roles = err.details.problems.map((p) => p.role);
      expect(roles).not.to.include('script-ok').and.not.to.include('script-with-apply');
    });

    it('collects every problem into one error, first code winning', () => {
      const err = loadError([unresolvedPlugin, cyclePlugin, unknownAttribPlugin, badDefaultPlugin, badTemplatePlugin]);
      expect(err.code).to.equal('ERR_PLUGIN_ATTRIB_DEFAULT');
      const codes = new Set(err.details.problems.map((p) => p.code));
      expect([...codes]).to.include.members([
        'ERR_PLUGIN_REQUIRES_UNRESOLVED',
        'ERR_PLUGIN_CYCLE',
        'ERR_PLUGIN_ATTRIB_UNKNOWN',
        'ERR_PLUGIN_ATTRIB_DEFAULT',
        'ERR_PLUGIN_TEMPLATE',
      ]);
      expect(err.message).to.match(/^\d+ plugin problems:\n/);
      expect(err.message.split('\n').filter((l) => l.startsWith('  - '))).to.have.length(err.details.problems.length);
    });
  });
});
