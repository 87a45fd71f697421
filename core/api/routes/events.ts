/**
 * The audit log and its live stream.
 *
 *   GET /events?after=<id>&type=<type>&object=<objectType[:id]>&limit=<1..1000>
 *       oldest first, paged by cursor: pass the last id you saw as `after` to get what came next.
 *       Answers `{items, after, limit}` (`after` echoes the cursor, 0 when absent).
 *   GET /events/stream?type=<t1,t2>&object=<objectType[:id]>&after=<id>
 *       text/event-stream: every new event matching the filters as `id:` (audit events only),
 *       `event: <type>` and `data: <event JSON>`; `node-role.state` events (no id) whenever a node-role
 *       changes state. With `after` (or a Last-Event-ID header) stored events after that id come first.
 *       A `: ping` comment every 15 s keeps proxies from closing an idle stream.
 */
import { z } from 'zod';
import type { Anneal } from '../../boot';
import type { FeedEvent } from '../../services/event-feed';
import { DEFAULT_LIMIT, MAX_ID, MAX_LIMIT, parseQuery, queryInt } from '../parse';
import { ApiRoutes } from '../route';

const HEARTBEAT_MS = 15_000;

const eventType = z
  .string({ error: 'expected one event type' })
  .max(200, 'expected an event type of at most 200 characters');

const objectPattern = /^([a-z][a-z-]{0,63})(?::(\d{1,10}))?$/;

const objectFilter = z
  .string({ error: 'expected an object type, optionally with :id' })
  .regex(objectPattern, 'expected an object type, optionally with :id, e.g. node or node:3');

const eventsQuery = z.object({
  after: queryInt(0, MAX_ID).optional(),
  type: eventType.optional(),
  object: objectFilter.optional(),
  limit: queryInt(1, MAX_LIMIT).optional(),
});

/** `node:3` → {objectType: 'node', objectId: 3}. */
function objectOf(object: string | undefined): { objectType?: string; objectId?: number } {
  if (!object) return {};
  const [, objectType, objectId] = objectPattern.exec(object)!;
  return { objectType: objectType!, ...(objectId ? { objectId: Number(objectId) } : {}) };
}

const streamQuery = z.object({
  after: queryInt(0, MAX_ID).optional(),
  type: z
    .string({ error: 'expected event types separated by commas' })
    .max(2000, 'expected at most 2000 characters of event types')
    .regex(/^[a-z.-]+(,[a-z.-]+)*$/, 'expected event types separated by commas, e.g. node.create,node-role.state')
    .optional(),
  object: objectFilter.optional(),
});

function frame(e: FeedEvent): string {
  return `${e.id === null ? '' : `id: ${e.id}\n`}event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`;
}

export function eventRoutes(anneal: Anneal): ApiRoutes {
  const routes = new ApiRoutes(anneal);

  routes.add(
    { method: 'get', path: '/events', summary: 'The audit log, oldest first, paged by cursor', query: eventsQuery },
    async (_req, res, { query: q }) => {
      const after = q.after ?? 0;
      const limit = q.limit ?? DEFAULT_LIMIT;
      const filter = { afterId: after, ...(q.type ? { type: q.type } : {}), ...objectOf(q.object) };
      const items = await anneal.store.events.list(filter, limit);
      res.json({ items, after, limit });
    },
  );

  routes.add(
    {
      method: 'get',
      path: '/events/stream',
      summary: 'Live events (server-sent events), filtered by type and object',
      query: streamQuery,
      produces: 'text/event-stream',
    },
    async (req, res, { query }) => {
      const lastEventId = req.get('last-event-id');
      const q =
        query.after === undefined && lastEventId !== undefined
          ? { ...query, after: parseQuery(streamQuery, { after: lastEventId }).after }
          : query;
      const object = objectOf(q.object);
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      res.write('retry: 2000\n\n');
      const heartbeat = setInterval(() => res.write(': ping\n\n'), HEARTBEAT_MS);
      let unsubscribe: (() => void) | null = null;
      let gone = false;
      req.on('close', () => {
        gone = true;
        clearInterval(heartbeat);
        unsubscribe?.();
      });
      // Headers are sent: a failure from here on can only end the stream (the client reconnects).
      try {
        unsubscribe = await anneal.feed.subscribe(
          { ...(q.type ? { types: q.type.split(',') } : {}), ...object },
          (e) => void res.write(frame(e)),
          q.after !== undefined ? { after: q.after } : {},
        );
      } catch (err) {
        anneal.log.warn({ err }, 'event stream: could not subscribe; ending the stream');
        clearInterval(heartbeat);
        res.end();
        return;
      }
      if (gone) unsubscribe();
    },
  );
  return routes;
}
