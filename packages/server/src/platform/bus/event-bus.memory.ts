import type { EventBus, EventBusOptions, EventHandler } from './event-bus.js';
import { encodePayload, warnEventBusError } from './event-bus-support.js';

/**
 * The in-process event bus: the default for `role=all` and the fake for tests. Like Redis it
 * delivers asynchronously (never inside `publish`), in publish order, and gives each
 * subscriber its own JSON copy of the payload.
 *
 * @example
 * const bus = createMemoryEventBus();
 */
export function createMemoryEventBus(opts: EventBusOptions = {}): EventBus {
  const onError = opts.onError ?? warnEventBusError;
  const handlers = new Map<string, Set<EventHandler>>();
  const queue: { topic: string; json: string }[] = [];
  let draining = false;
  let closed = false;

  const drain = () => {
    draining = false;
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
      // Handlers subscribed at delivery time; an unsubscribe before delivery takes effect.
      for (const handler of [...(handlers.get(item.topic) ?? [])]) {
        if (!handlers.get(item.topic)?.has(handler)) continue;
        try {
          handler(JSON.parse(item.json));
        } catch (err) {
          onError(err, item.topic);
        }
      }
    }
  };

  return {
    async publish(topic, payload) {
      if (closed) throw new Error('Event bus is closed');
      queue.push({ topic, json: encodePayload(payload) });
      if (!draining) {
        draining = true;
        setImmediate(drain);
      }
    },

    subscribe(topic, handler) {
      if (closed) throw new Error('Event bus is closed');
      let set = handlers.get(topic);
      if (set === undefined) {
        set = new Set();
        handlers.set(topic, set);
      }
      // Wrap so the same function can be subscribed twice and removed independently.
      const entry: EventHandler = (payload) => handler(payload);
      set.add(entry);
      return () => {
        const current = handlers.get(topic);
        current?.delete(entry);
        if (current?.size === 0) handlers.delete(topic);
      };
    },

    async close() {
      closed = true;
      handlers.clear();
      queue.length = 0;
    },
  };
}
