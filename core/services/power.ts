/**
 * Power: a node's BMC settings, power actions, next boot device and the reading that keeps
 * `powerState` and `alive` current (DESIGN §5 hammers). Every BMC call goes through the per-BMC limits
 * (one call at a time per BMC address, spaced), so neither operators nor the monitor flood a BMC.
 *
 * `alive` means "powered on and reachable": the BMC does not say off, and the node's SSH port accepts a
 * TCP connection. A node with neither a management address nor a BMC keeps the `alive` it was given.
 *
 * Driver `ssh` (core/power/ssh.ts) has no BMC: it reaches the node itself at its management address
 * (port 22) with anneal's SSH key, so it needs neither a BMC address nor a user or password, and its
 * calls are limited per node. Its `off` means "not reachable over SSH".
 *
 * Errors: ERR_POWER_NOT_CONFIGURED (no address, user or password), and the driver's ERR_POWER_UNREACHABLE,
 * ERR_POWER_AUTH, ERR_POWER_FAILED. The BMC password is read from the node's secrets only here and handed
 * to the driver; it never appears in a record, an event or a log line.
 */
import { bmcEndpoint } from '../domain/bmc';
import type { NodeRecord } from '../domain/records';
import type { BmcDriverName, PowerActionName } from '../domain/vocabulary';
import { AppError } from '../errors';
import type { KeyedLimits } from '../annealer/limits';
import type { BmcTarget, BootDevice, PowerDriver, PowerState } from '../power/driver';
import type { NodePatch } from '../store/nodes';
import { audit, useCase, type Actor, type ServiceDeps } from './deps';

/** The hammers the power service drives, injected by boot (real drivers) or a test. */
export interface PowerHammers {
  drivers: Partial<Record<BmcDriverName, PowerDriver>>;
  /** Keyed by BMC address (per node for `ssh`): one call at a time per BMC, with a minimum spacing. */
  limits: KeyedLimits;
  /** TCP reachability of a node's SSH port; never throws. */
  reachable(host: string, port: number): Promise<boolean>;
}

export interface BmcSettings {
  address?: string | null;
  username?: string | null;
  /** Secret: stored in the node's secrets, never returned. `null` removes it. */
  password?: string | null;
  driver?: BmcDriverName;
}

/** What a reading found; `error` is set when the BMC could not be read (powerState is then `unknown`). */
export interface PowerReading {
  node: NodeRecord;
  changed: boolean;
  error?: AppError;
}

const SSH_PORT = 22;

export function powerService(deps: ServiceDeps & { power: PowerHammers }) {
  const { store, power } = deps;

  interface NodeEvent {
    actor: Actor;
    type: string;
    data: Record<string, unknown>;
  }

  /** The node's BMC driver and target, or ERR_POWER_NOT_CONFIGURED saying what is missing. */
  async function bmcOf(node: NodeRecord): Promise<{ driver: PowerDriver; target: BmcTarget }> {
    if (node.bmcDriver === 'ssh') return sshOf(node);
    const password = await store.nodeSecrets.get(node.id, 'bmc-password');
    const missing = [
      ...(node.bmcAddress ? [] : ['address']),
      ...(node.bmcUsername ? [] : ['username']),
      ...(password ? [] : ['password']),
    ];
    if (missing.length) {
      throw new AppError(
        'ERR_POWER_NOT_CONFIGURED',
        `node ${node.name} has no BMC ${missing.join(', ')}: set them with PUT /api/v2/nodes/${node.name}/bmc`,
        { details: { node: node.name, missing } },
      );
    }
    const driver = power.drivers[node.bmcDriver];
    if (!driver) {
      throw new AppError(
        'ERR_POWER_NOT_CONFIGURED',
        `node ${node.name} uses the ${node.bmcDriver} power driver, which this anneal does not have`,
        { details: { node: node.name, driver: node.bmcDriver } },
      );
    }
    const { host, port } = bmcEndpoint(node.bmcAddress!, node.bmcDriver);
    return { driver, target: { node: node.name, host, port, username: node.bmcUsername!, password: password! } };
  }

  /** The `ssh` driver's target: the node itself, at its management address, port 22. */
  function sshOf(node: NodeRecord): { driver: PowerDriver; target: BmcTarget } {
    if (!node.address) {
      throw new AppError(
        'ERR_POWER_NOT_CONFIGURED',
        `node ${node.name} has no management address, which the ssh power driver logs in to: set the node's address, or give it a BMC with PUT /api/v2/nodes/${node.name}/bmc`,
        { details: { node: node.name, driver: 'ssh', missing: ['address'] } },
      );
    }
    const driver = power.drivers.ssh;
    if (!driver) {
      throw new AppError(
        'ERR_POWER_NOT_CONFIGURED',
        `node ${node.name} uses the ssh power driver, which needs anneal's SSH key: start anneal with ANNEAL_SSH_KEY`,
        { details: { node: node.name, driver: 'ssh' } },
      );
    }
    // Where the ssh jig connects to (core/annealer/jigs.ts), so both use the same pinned host key.
    return { driver, target: { node: node.name, host: node.address, port: SSH_PORT, username: '', password: '' } };
  }

  /** Whether the monitor has a power reading to take: a BMC address, or the ssh driver and an address. */
  const hasPowerSource = (node: NodeRecord) => Boolean(node.bmcDriver === 'ssh' ? node.address : node.bmcAddress);

  function onBmc<T>(node: NodeRecord, job: () => Promise<T>): Promise<T> {
    // ssh has no BMC: one call at a time per node (its reboot waits until the node went down).
    const key = node.bmcDriver === 'ssh' ? `ssh:node:${node.id}` : `${node.bmcDriver}:${node.bmcAddress}`;
    return power.limits.schedule(key, job);
  }

  /**
   * In one transaction: writes the fields that differ (and when power was checked) and the audit event
   * `ev` (or the one `ev` derives from the saved node). `changed`: something other than the time changed.
   */
  async function save(
    node: NodeRecord,
    patch: NodePatch,
    ev?: NodeEvent | ((saved: NodeRecord, changed: boolean) => NodeEvent | null),
  ): Promise<{ node: NodeRecord; changed: boolean }> {
    const changed = (Object.keys(patch) as (keyof NodePatch)[]).some(
      (k) => k !== 'powerCheckedAt' && patch[k] !== node[k],
    );
    // A derived event needs a change to derive from; a given one is always written.
    if (!changed && patch.powerCheckedAt === undefined && typeof ev !== 'object') return { node, changed };
    return useCase(deps, async (uow) => {
      const saved =
        changed || patch.powerCheckedAt !== undefined ? await uow.tx.nodes.update(node.id, patch, deps.now()) : node;
      const e = typeof ev === 'function' ? ev(saved, changed) : ev;
      if (e) await audit(uow, [{ ...e, objectType: 'node', objectId: node.id }], deps.now());
      if (saved.alive && !node.alive) uow.emit({ type: 'work' });
      return { node: saved, changed };
    });
  }

  /** Sets the BMC address, user, password and driver (only the fields given). The password is never echoed. */
  async function configureBmc(ref: number | string, settings: BmcSettings, actor: Actor): Promise<NodeRecord> {
    return useCase(deps, async (uow) => {
      const { tx } = uow;
      const node = await tx.nodes.get(ref);
      const { password, ...fields } = settings;
      const patch: NodePatch = {
        ...(fields.address !== undefined ? { bmcAddress: fields.address } : {}),
        ...(fields.username !== undefined ? { bmcUsername: fields.username } : {}),
        ...(fields.driver !== undefined ? { bmcDriver: fields.driver } : {}),
      };
      const updated = Object.keys(patch).length ? await tx.nodes.update(node.id, patch, deps.now()) : node;
      if (password !== undefined) await tx.nodeSecrets.set(node.id, 'bmc-password', password, deps.now());
      const changed = [...Object.keys(fields), ...(password !== undefined ? ['password'] : [])];
      await audit(
        uow,
        [{ actor, type: 'node.bmc', objectType: 'node', objectId: node.id, data: { changed } }],
        deps.now(),
      );
      return updated;
    });
  }

  /** Reads the power state from the BMC and records it. Throws the driver's errors. */
  async function readPower(ref: number | string): Promise<NodeRecord> {
    const node = await store.nodes.get(ref);
    const { driver, target } = await bmcOf(node);
    const state = await onBmc(node, () => driver.status(target));
    return (await save(node, { powerState: state, powerCheckedAt: deps.now() })).node;
  }

  /**
   * Powers the node on, off, cycles or resets it, then reads the state back. Off, cycle and reset mark
   * the node not alive at once (its services stop); the monitor marks it alive when SSH answers again.
   */
  async function act(ref: number | string, action: PowerActionName, actor: Actor): Promise<NodeRecord> {
    const node = await store.nodes.get(ref);
    const { driver, target } = await bmcOf(node);
    const state: PowerState = await onBmc(node, async () => {
      await driver.power(target, action);
      return driver.status(target);
    });
    const patch: NodePatch = {
      powerState: state,
      powerCheckedAt: deps.now(),
      ...(action === 'on' ? {} : { alive: false }),
    };
    return (await save(node, patch, { actor, type: 'node.power', data: { action, powerState: state } })).node;
  }

  /** Sets the device the node boots from next (pxe: the network-boot install path). */
  async function nextBoot(ref: number | string, device: BootDevice, actor: Actor): Promise<NodeRecord> {
    const node = await store.nodes.get(ref);
    const { driver, target } = await bmcOf(node);
    await onBmc(node, () => driver.nextBoot(target, device));
    return (await save(node, { bootDevice: device }, { actor, type: 'node.boot', data: { device } })).node;
  }

  /**
   * One reading for the monitor: power state from the BMC when one is configured (a failure leaves
   * `unknown` and is returned, not thrown), reachability of the SSH port when the node has an address,
   * and `alive` derived from both. Records and announces (event `node.alive`) what changed, and wakes the
   * annealer when a node comes alive. Never throws for BMC or network trouble.
   */
  async function observe(node: NodeRecord, actor: Actor): Promise<PowerReading> {
    let powerState = node.powerState;
    let checked = false;
    let error: AppError | undefined;
    if (hasPowerSource(node)) {
      try {
        const { driver, target } = await bmcOf(node);
        powerState = await onBmc(node, () => driver.status(target));
        checked = true;
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        if (err.code !== 'ERR_POWER_NOT_CONFIGURED') {
          powerState = 'unknown';
          checked = true;
          error = err;
        }
      }
    }
    const reachable = node.address ? await power.reachable(node.address, SSH_PORT) : null;
    const alive = powerState === 'off' ? false : (reachable ?? (powerState === 'on' ? true : node.alive));
    const saved = await save(node, { powerState, alive, ...(checked ? { powerCheckedAt: deps.now() } : {}) }, (n) =>
      n.alive !== node.alive ? { actor, type: 'node.alive', data: { alive, powerState, reachable } } : null,
    );
    return { node: saved.node, changed: saved.changed, ...(error ? { error } : {}) };
  }

  return { configureBmc, readPower, act, nextBoot, observe };
}

export type PowerService = ReturnType<typeof powerService>;
