/**
 * The live event feed behind `GET /events/stream`: the audit log as it grows, plus a synthetic
 * `node-role.state` event whenever a node-role changes state (the annealer does not write an audit
 * event per transition; the feed notices them by comparing snapshots).
 *
 * One poller per process serves every subscriber; it reads the database, so it sees what every anneal
 * process sharing it does. It runs only while someone listens, every `intervalMs`. Contract: a failed
 * poll is logged and retried on the next tick; a listener that throws is dropped; a subscriber that
 * passes `after` first gets every stored event after that id (in order, without gaps or duplicates
 * against the live ones), then the live stream.
 */
import type { EventRecord } from '../domain/records';
import type { Logger } from '../log';
import type { Store } from '../store';
import type { NodeRoleStateRow } from '../store/node-roles';

/** An audit event, or a synthetic one (`id` null) such as `node-role.state`. */
export type FeedEvent = Omit<EventRecord, 'id'> & { id: number | null };

export interface FeedFilter {
  /** Exact event types; empty or absent: every type. */
  types?: readonly string[];
  objectType?: string;
  objectId?: number;
}

export type Unsubscribe = () => void;

export interface EventFeed {
  subscribe(filter: FeedFilter, listener: (e: FeedEvent) => void, opts?: { after?: number }): Promise<Unsubscribe>;
  /** Something was written: poll now rather than at the next tick (no-op while nobody listens). */
  poke(): void;
  /** Stops the poller; subscribers get nothing more. */
  close(): void;
}

export function matches(filter: FeedFilter, e: FeedEvent): boolean {
  if (filter.types?.length && !filter.types.includes(e.type)) return false;
  if (filter.objectType !== undefined && e.objectType !== filter.objectType) return false;
  if (filter.objectId !== undefined && e.objectId !== filter.objectId) return false;
  return true;
}

interface Subscriber {
  filter: FeedFilter;
  listener: (e: FeedEvent) => void;
  /** Live events held back while stored ones are replayed. */
  buffer: FeedEvent[] | null;
}

function stateEvent(row: NodeRoleStateRow, from: string | null, at: number): FeedEvent {
  return {
    id: null,
    at,
    actor: 'annealer',
    type: 'node-role.state',
    objectType: 'node-role',
    objectId: row.id,
    data: { nodeId: row.nodeId, node: row.node, role: row.role, deploymentId: row.deploymentId, from, to: row.state },
  };
}

export function createEventFeed(deps: {
  store: Store;
  now: () => number;
  log: Logger;
  intervalMs?: number;
}): EventFeed {
  const { store, now, log } = deps;
  const intervalMs = deps.intervalMs ?? 500;
  const subscribers = new Set<Subscriber>();
  let cursor = 0;
  let states: Map<number, NodeRoleStateRow> | null = null;
  let timer: NodeJS.Timeout | null = null;
  let starting: Promise<void> | null = null;
  let closed = false;

  function deliver(sub: Subscriber, e: FeedEvent): void {
    if (!matches(sub.filter, e)) return;
    if (sub.buffer) return void sub.buffer.push(e);
    try {
      sub.listener(e);
    } catch (err) {
      subscribers.delete(sub);
      log.warn({ err }, 'event feed: dropped a listener that threw');
    }
  }

  function publish(e: FeedEvent): void {
    for (const sub of subscribers) deliver(sub, e);
  }

  async function snapshot(): Promise<Map<number, NodeRoleStateRow>> {
    return new Map((await store.nodeRoles.states()).map((r) => [r.id, r]));
  }

  async function poll(): Promise<void> {
    for (;;) {
      const batch = await store.events.list({ afterId: cursor }, 1000);
      for (const e of batch) {
        cursor = e.id;
        publish(e);
      }
      if (batch.length < 1000) break;
    }
    const next = await snapshot();
    const at = now();
    for (const [id, row] of next) {
      const before = states?.get(id);
      if (before?.state !== row.state) publish(stateEvent(row, before?.state ?? null, at));
    }
    states = next;
  }

  let polling = false;

  function schedule(delayMs = intervalMs): void {
    if (closed || subscribers.size === 0) {
      timer = null;
      return;
    }
    timer = setTimeout(() => {
      polling = true;
      poll()
        .catch((err: unknown) => log.warn({ err }, 'event feed: poll failed; retrying'))
        .finally(() => {
          polling = false;
          schedule();
        });
    }, delayMs);
  }

  async function start(): Promise<void> {
    if (timer || closed) return;
    starting ??= (async () => {
      cursor = await store.events.lastId();
      states = await snapshot();
      schedule();
    })().finally(() => (starting = null));
    await starting;
  }

  async function replay(sub: Subscriber, after: number): Promise<void> {
    let last = after;
    while (last < cursor) {
      const batch = await store.events.list({ afterId: last }, 1000);
      for (const e of batch) {
        if (e.id > cursor) break;
        last = e.id;
        if (matches(sub.filter, e)) sub.listener(e);
      }
      if (batch.length < 1000) break;
    }
    const held = sub.buffer ?? [];
    sub.buffer = null;
    for (const e of held) if (e.id === null || e.id > last) deliver(sub, e);
  }

  return {
    async subscribe(filter, listener, opts = {}) {
      const sub: Subscriber = { filter, listener, buffer: opts.after !== undefined ? [] : null };
      await start();
      subscribers.add(sub);
      if (opts.after !== undefined) await replay(sub, opts.after);
      if (!timer && !closed) schedule();
      return () => {
        subscribers.delete(sub);
      };
    },
    poke() {
      if (!timer || polling || closed) return;
      clearTimeout(timer);
      schedule(0);
    },
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      timer = null;
      subscribers.clear();
    },
  };
}
