/**
 * The power service with driver `ssh`: its target is the node's management address (no BMC address,
 * user or password needed), its calls are limited per node, and the monitor reads it like a BMC.
 * A scripted driver stands in for SSH: nothing here connects anywhere.
 */
import { expect } from 'chai';
import { AppError } from '../../../core/errors';
import type { BmcTarget, PowerAction, PowerDriver, PowerState } from '../../../core/power/driver';
import { powerService, type PowerHammers } from '../../../core/services/power';
import { startTestAnneal, type TestAnneal } from '../../helpers/anneal';
import { createDomainEvents } from '../../../core/services/domain-events';

describe('power service: the ssh driver', () => {
  let anneal: TestAnneal;
  const calls: { op: string; target: BmcTarget; action?: PowerAction }[] = [];
  const keys: string[] = [];
  let state: PowerState = 'on';
  const driver: PowerDriver = {
    name: 'ssh',
    status: async (target) => {
      calls.push({ op: 'status', target });
      return state;
    },
    power: async (target, action) => {
      calls.push({ op: 'power', target, action });
      if (action === 'off') state = 'off';
    },
    nextBoot: async (target) => {
      calls.push({ op: 'boot', target });
      throw new AppError('ERR_POWER_FAILED', 'ssh cannot choose a machine’s boot device');
    },
  };
  const hammers = (withSsh: boolean, reachable = true): PowerHammers => ({
    drivers: withSsh ? { ssh: driver } : {},
    limits: {
      schedule: <T>(key: string, job: () => Promise<T>) => {
        keys.push(key);
        return job();
      },
    } as unknown as PowerHammers['limits'],
    reachable: async () => reachable,
  });
  const service = (h: PowerHammers) =>
    powerService({
      store: anneal.store,
      registry: anneal.registry,
      now: Date.now,
      events: createDomainEvents(),
      power: h,
    } as unknown as Parameters<typeof powerService>[0]);
  const rejection = async (p: Promise<unknown>): Promise<AppError> => {
    try {
      await p;
    } catch (e) {
      expect(e).to.be.instanceOf(AppError);
      return e as AppError;
    }
    throw new Error('expected a rejection');
  };

  before(async () => {
    anneal = await startTestAnneal('sqlite');
  });
  after(async () => {
    await anneal?.dispose();
  });
  beforeEach(() => {
    calls.length = 0;
    keys.length = 0;
    state = 'on';
  });

  it('needs the management address and the driver, not BMC credentials', async () => {
    const { inventory } = anneal.services;
    await inventory.createNode({ name: 'noaddr.example', bmcDriver: 'ssh' }, 'test');
    const e1 = await rejection(service(hammers(true)).readPower('noaddr.example'));
    expect(e1.code).to.equal('ERR_POWER_NOT_CONFIGURED');
    expect(e1.message).to.include('management address');
    await inventory.createNode({ name: 'nokey.example', address: '10.9.0.2', bmcDriver: 'ssh' }, 'test');
    const e2 = await rejection(service(hammers(false)).readPower('nokey.example'));
    expect(e2.code).to.equal('ERR_POWER_NOT_CONFIGURED');
    expect(e2.message).to.include('ANNEAL_SSH_KEY');
    expect(calls).to.deep.equal([]);
  });

  it('targets the node at its address, port 22, limited per node; act and observe keep power and alive', async () => {
    const node = await anneal.services.inventory.createNode(
      { name: 'ssh1.example', address: '10.9.0.3', bmcDriver: 'ssh', alive: true },
      'test',
    );
    const s = service(hammers(true, false));
    expect((await s.readPower('ssh1.example')).powerState).to.equal('on');
    expect(calls[0]!.target).to.deep.equal({
      node: 'ssh1.example',
      host: '10.9.0.3',
      port: 22,
      username: '',
      password: '',
    });
    expect(keys).to.deep.equal([`ssh:node:${node.id}`]);

    const reset = await s.act('ssh1.example', 'reset', 'test');
    expect(reset).to.include({ powerState: 'on', alive: false });
    const off = await s.act('ssh1.example', 'off', 'test');
    expect(off).to.include({ powerState: 'off', alive: false });
    expect(calls.filter((c) => c.op === 'power').map((c) => c.action)).to.deep.equal(['reset', 'off']);

    // The monitor reads the ssh driver although the node has no BMC address.
    const reading = await s.observe(await anneal.store.nodes.get('ssh1.example'), 'anneal');
    expect(reading.node).to.include({ powerState: 'off', alive: false });
    expect(calls.at(-1)!.op).to.equal('status');
    expect(new Set(keys)).to.deep.equal(new Set([`ssh:node:${node.id}`]));

    const boot = await rejection(s.nextBoot('ssh1.example', 'pxe', 'test'));
    expect(boot.code).to.equal('ERR_POWER_FAILED');
  });
});
