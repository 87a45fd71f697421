/**
 * What every service gets: the store, the validated registry, an injected clock, the in-process domain
 * events and the power hammers — and `useCase`, the one way a service writes.
 */
import type { Registry } from '../plugins/registry';
import type { PowerHammers } from './power';
import type { Repos, Store } from '../store';
import type { NewEvent } from '../store/runs-events';
import type { DomainEvent, DomainEvents } from './domain-events';

export interface ServiceDeps {
  store: Store;
  registry: Registry;
  now(): number;
  /** Published after each use case's commit (wakes the annealer, the event feed, the power monitor). */
  events: DomainEvents;
  /** anneal's managed SSH public key (authorized on every machine it installs); null without ANNEAL_SSH_KEY. */
  managedPublicKey: string | null;
  /** Power drivers, per-BMC limits and the reachability probe. */
  power: PowerHammers;
}

/** Who made a change, for the audit log. */
export type Actor = string;

/** A use case's view of the world: repositories bound to its transaction, and where to announce what it did. */
export interface UnitOfWork {
  tx: Repos;
  /** Queues a domain event, published once the transaction commits (dropped if it rolls back). */
  emit(e: DomainEvent): void;
}

/**
 * Runs one use case in one transaction (DESIGN §7b): every write, audit events included, commits together
 * or not at all; domain events go out after the commit. A use case that already runs in one (`uow` given)
 * joins it instead.
 */
export async function useCase<T>(
  deps: Pick<ServiceDeps, 'store' | 'events'>,
  fn: (uow: UnitOfWork) => Promise<T>,
  uow?: UnitOfWork,
): Promise<T> {
  if (uow) return fn(uow);
  const pending: DomainEvent[] = [];
  const result = await deps.store.transaction((tx) => fn({ tx, emit: (e) => pending.push(e) }));
  const seen = new Set<string>();
  for (const e of pending) {
    const key = JSON.stringify(e);
    if (seen.has(key)) continue;
    seen.add(key);
    deps.events.emit(e);
  }
  return result;
}

/** Writes audit events inside the use case's transaction; the live feed hears of them after the commit. */
export async function audit(uow: UnitOfWork, events: NewEvent[], now: number): Promise<void> {
  await uow.tx.events.append(events, now);
  uow.emit({ type: 'audit' });
}
