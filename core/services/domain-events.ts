/**
 * In-process domain events: what a committed use case tells the rest of this process. Published only
 * after the transaction that caused them commits (see `useCase`), never for one that rolled back. Other
 * anneal processes sharing the database find the same changes by polling; these only make this process
 * react at once.
 *
 * - `work`: node-roles may have become runnable (commit, retry, rerun, unbind, …) → the annealer wakes.
 * - `audit`: audit events were written → the live event feed polls now instead of at its next tick.
 * - `node.retired`: a node record is gone → the power monitor forgets it.
 * - `removed`: node-roles were removed → moves that waited for them bind their new deployment's roles.
 *
 * Contract: a listener that throws is logged by its subscriber's own code, never by the publisher; emit
 * never throws.
 */
import { EventEmitter } from 'node:events';

export type DomainEvent =
  { type: 'work' } | { type: 'audit' } | { type: 'removed' } | { type: 'node.retired'; nodeId: number };

export interface DomainEvents {
  emit(e: DomainEvent): void;
  on<T extends DomainEvent['type']>(type: T, listener: (e: Extract<DomainEvent, { type: T }>) => void): () => void;
}

export function createDomainEvents(): DomainEvents {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(64);
  return {
    emit(e) {
      try {
        emitter.emit(e.type, e);
      } catch {
        // A listener's failure is its own: the use case that published the event has committed.
      }
    },
    on(type, listener) {
      emitter.on(type, listener as (e: DomainEvent) => void);
      return () => emitter.off(type, listener as (e: DomainEvent) => void);
    },
  };
}
