/**
 * IPAM (Crowbar's network barclamp model): networks of a deployment, named ranges of their addresses,
 * and allocations of one address per node and network. Operators use it through /api/v2/networks; the
 * network-config role reads it through its admin hooks.
 *
 * Allocating for a node that already has an address on the network returns that allocation (created
 * false) when the request fits it, and ERR_ADDRESS_TAKEN when it asks for another one. An explicit
 * address is recorded as is when it is a free host address of the network (and inside the range when
 * one is named), so addresses nodes already have (the lab's admin network) can be recorded. Without
 * an address, the lowest free one of the named range (or of the first range with one free) is taken;
 * a concurrent allocation of the same address loses on the database's unique index and picks again.
 */
import {
  addressProblem,
  nextFree,
  parseCidr,
  parseIpv4,
  rangeOf,
  rangeProblems,
  type AllocationRecord,
  type NetworkRecord,
  type RangeRecord,
} from '../domain/ipam';
import { AppError, inputError } from '../errors';
import { audit, useCase, type Actor, type ServiceDeps, type UnitOfWork } from './deps';
import { isUniqueConflict } from '../store/translate-error';
import { systemDeployment } from './inventory';

export interface NetworkInput {
  name: string;
  description?: string;
  deployment?: number | string;
  cidr: string;
  vlan?: number | null;
  gateway?: string | null;
  category?: string;
  interface?: string | null;
}

export interface AllocateInput {
  node: number | string;
  range?: string;
  address?: string;
}

export function networksService(deps: ServiceDeps) {
  const { store } = deps;
  const nets = store.networks;

  /** Audits a change of network `networkId` inside the use case's transaction. */
  async function event(uow: UnitOfWork, actor: Actor, type: string, networkId: number, data: Record<string, unknown>) {
    await audit(uow, [{ actor, type, objectType: 'network', objectId: networkId, data }], deps.now());
  }

  async function createNetwork(input: NetworkInput, actor: Actor): Promise<NetworkRecord> {
    return useCase(deps, async (uow) => {
      const { tx } = uow;
      const nets = tx.networks;
      const taken = await nets.find(input.name);
      if (taken) {
        throw new AppError(
          'ERR_NAME_TAKEN',
          `a network named "${input.name}" already exists (id ${taken.id}); choose another name`,
        );
      }
      const d = await tx.deployments.get(input.deployment ?? systemDeployment);
      const n = await nets.create(
        {
          name: input.name,
          description: input.description ?? '',
          deploymentId: d.id,
          cidr: input.cidr,
          vlan: input.vlan ?? null,
          gateway: input.gateway ?? null,
          category: input.category ?? 'general',
          interface: input.interface ?? null,
        },
        deps.now(),
      );
      await event(uow, actor, 'network.create', n.id, { name: n.name, cidr: n.cidr, deployment: d.name });
      return n;
    });
  }

  /** The network with its ranges. */
  async function getNetwork(ref: number | string): Promise<NetworkRecord & { ranges: RangeRecord[] }> {
    const n = await nets.get(ref);
    return { ...n, ranges: await nets.ranges(n.id) };
  }

  async function listNetworks(filter: { deployment?: number | string }, page: { offset: number; limit: number }) {
    const deploymentId =
      filter.deployment === undefined ? undefined : (await store.deployments.get(filter.deployment)).id;
    return nets.list({ deploymentId }, page);
  }

  /** Deletes a network and its ranges; ERR_STATE_INVALID while it has allocations (release them first). */
  async function deleteNetwork(ref: number | string, actor: Actor): Promise<void> {
    return useCase(deps, async (uow) => {
      const nets = uow.tx.networks;
      const n = await nets.get(ref);
      const allocated = await nets.allocations({ networkId: n.id });
      if (allocated.length) {
        throw new AppError(
          'ERR_STATE_INVALID',
          `network "${n.name}" still has ${allocated.length} allocation(s): release them first (DELETE /api/v2/networks/${n.name}/allocations/{address})`,
          { details: { allocations: allocated.length } },
        );
      }
      await nets.remove(n.id);
      await event(uow, actor, 'network.delete', n.id, { name: n.name });
    });
  }

  async function listRanges(ref: number | string): Promise<RangeRecord[]> {
    return nets.ranges((await nets.get(ref)).id);
  }

  /**
   * Adds a range: both ends host addresses of the network, first ≤ last, without the gateway, not
   * overlapping another range (ERR_INPUT_INVALID naming `first`/`last`); ERR_NAME_TAKEN for a name the
   * network already has.
   */
  async function createRange(
    ref: number | string,
    input: { name: string; first: string; last: string },
    actor: Actor,
  ): Promise<RangeRecord> {
    return useCase(deps, async (uow) => {
      const nets = uow.tx.networks;
      const n = await nets.get(ref);
      const ranges = await nets.ranges(n.id);
      if (ranges.some((r) => r.name === input.name)) {
        throw new AppError('ERR_NAME_TAKEN', `network "${n.name}" already has a range named "${input.name}"`);
      }
      const problems = rangeProblems(parseCidr(n.cidr)!, n.gateway, input, ranges);
      if (problems.length) throw inputError(problems);
      const r = await nets.createRange({ networkId: n.id, ...input }, deps.now());
      await event(uow, actor, 'network.range.create', n.id, { range: r.name, first: r.first, last: r.last });
      return r;
    });
  }

  /** Deletes a range; ERR_STATE_INVALID while addresses of it are allocated. */
  async function deleteRange(ref: number | string, name: string, actor: Actor): Promise<void> {
    return useCase(deps, async (uow) => {
      const nets = uow.tx.networks;
      const n = await nets.get(ref);
      const r = (await nets.ranges(n.id)).find((x) => x.name === name);
      if (!r)
        throw new AppError('ERR_RANGE_NOT_FOUND', `network "${n.name}" has no range "${name}"`, {
          details: { ref: name },
        });
      const allocated = await nets.allocations({ rangeId: r.id });
      if (allocated.length) {
        throw new AppError(
          'ERR_STATE_INVALID',
          `range "${name}" of network "${n.name}" still has ${allocated.length} allocation(s): release them first`,
          { details: { allocations: allocated.length } },
        );
      }
      await nets.removeRange(r.id);
      await event(uow, actor, 'network.range.delete', n.id, { range: name });
    });
  }

  async function listAllocations(ref: number | string): Promise<AllocationRecord[]> {
    return nets.allocations({ networkId: (await nets.get(ref)).id });
  }

  /** Allocates an address of the network to a node (see the module comment). */
  async function allocate(
    ref: number | string,
    input: AllocateInput,
    actor: Actor,
    outer?: UnitOfWork,
  ): Promise<{ allocation: AllocationRecord; created: boolean }> {
    // Each attempt is one transaction; a concurrent allocation of the same address (unique index) rolls
    // it back and the next attempt sees that address taken. Inside `outer` there is one attempt only.
    for (let attempt = 0; ; attempt++) {
      try {
        return await useCase(deps, (uow) => allocateOnce(uow, ref, input, actor), outer);
      } catch (err) {
        if (!outer && isUniqueConflict(err) && attempt < 5) continue;
        throw err;
      }
    }
  }

  async function allocateOnce(
    uow: UnitOfWork,
    ref: number | string,
    input: AllocateInput,
    actor: Actor,
  ): Promise<{ allocation: AllocationRecord; created: boolean }> {
    const nets = uow.tx.networks;
    const n = await nets.get(ref);
    const node = await uow.tx.nodes.get(input.node);
    const ranges = await nets.ranges(n.id);
    const range = input.range === undefined ? undefined : ranges.find((r) => r.name === input.range);
    if (input.range !== undefined && !range) {
      throw new AppError('ERR_RANGE_NOT_FOUND', `network "${n.name}" has no range "${input.range}"`, {
        details: { ref: input.range },
      });
    }
    if (node.system) {
      throw new AppError('ERR_STATE_INVALID', `${node.name} is a deployment's service node: it gets no addresses`);
    }
    const cidr = parseCidr(n.cidr)!;
    {
      const all = await nets.allocations({ networkId: n.id });
      const mine = all.find((a) => a.nodeId === node.id);
      if (mine) {
        const fits =
          (input.address === undefined || parseIpv4(input.address) === parseIpv4(mine.address)) &&
          (range === undefined || mine.rangeId === range.id);
        if (fits) return { allocation: mine, created: false };
        throw new AppError(
          'ERR_ADDRESS_TAKEN',
          `${node.name} already has ${mine.address} on network "${n.name}": release it first (DELETE /api/v2/networks/${n.name}/allocations/${mine.address})`,
          { details: { node: node.name, address: mine.address } },
        );
      }
      const taken = new Set(all.map((a) => parseIpv4(a.address)!));
      let address: string;
      let rangeId: number | null;
      if (input.address !== undefined) {
        const problem = addressProblem(cidr, { address: input.address, gateway: n.gateway, range, taken });
        if (problem?.kind === 'invalid') throw inputError([{ field: 'address', message: problem.message }]);
        if (problem?.kind === 'outside') {
          throw new AppError('ERR_ADDRESS_OUTSIDE', problem.message, { details: { address: input.address } });
        }
        if (problem?.kind === 'taken') {
          const holder = all.find((a) => parseIpv4(a.address) === parseIpv4(input.address!));
          throw new AppError('ERR_ADDRESS_TAKEN', `${input.address} is already allocated to ${holder?.node}`, {
            details: { address: input.address, node: holder?.node ?? null },
          });
        }
        address = input.address;
        rangeId = range?.id ?? rangeOf(ranges, address)?.id ?? null;
      } else {
        if (ranges.length === 0) {
          throw inputError([
            {
              field: 'address',
              message: `network "${n.name}" has no ranges to pick from: give an address, or add a range (POST /api/v2/networks/${n.name}/ranges)`,
            },
          ]);
        }
        const candidates = range ? [range] : ranges;
        const picked = candidates
          .map((r) => ({ r, a: nextFree(r, n.gateway, taken) }))
          .find((x): x is { r: RangeRecord; a: string } => x.a !== null);
        if (!picked) {
          const what = range ? `range "${range.name}" (${range.first}..${range.last})` : `every range`;
          throw new AppError('ERR_RANGE_EXHAUSTED', `${what} of network "${n.name}" is fully allocated`, {
            details: { network: n.name, range: range?.name ?? null },
          });
        }
        address = picked.a;
        rangeId = picked.r.id;
      }
      const a = await nets.createAllocation(
        { networkId: n.id, rangeId, nodeId: node.id, address, createdBy: actor },
        deps.now(),
      );
      await event(uow, actor, 'network.allocation.create', n.id, { node: node.name, address });
      return { allocation: a, created: true };
    }
  }

  /** Releases one address of the network; ERR_ALLOCATION_NOT_FOUND when it is not allocated. */
  async function release(ref: number | string, address: string, actor: Actor): Promise<void> {
    return useCase(deps, async (uow) => {
      const nets = uow.tx.networks;
      const n = await nets.get(ref);
      const a = (await nets.allocations({ networkId: n.id })).find((x) => x.address === address);
      if (!a) {
        throw new AppError('ERR_ALLOCATION_NOT_FOUND', `network "${n.name}" has no allocation of ${address}`, {
          details: { ref: address },
        });
      }
      await nets.removeAllocation(a.id);
      await event(uow, actor, 'network.allocation.delete', n.id, { node: a.node, address });
    });
  }

  return {
    createNetwork,
    getNetwork,
    listNetworks,
    deleteNetwork,
    listRanges,
    createRange,
    deleteRange,
    listAllocations,
    allocate,
    release,
  };
}
