import { Redis } from 'ioredis';
import type { EventBus, EventBusOptions, EventHandler } from './event-bus.js';
import { encodePayload, warnEventBusError } from './event-bus-support.js';

/** Options of {@link createRedisEventBus}. */
export interface RedisEventBusOptions extends EventBusOptions {
  /** Prefix of every Redis channel (`halftone:` by default), so several installs can share Redis. */
  readonly channelPrefix?: string;
  /** Names the two connections `<name>:pub` and `<name>:sub` (visible in `CLIENT LIST`). */
  readonly connectionName?: string;
}

const noop = () => {};

/**
 * The event bus over Redis pub/sub, for roles in separate processes. Topic `t` is channel
 * `halftone:t`; payloads travel as JSON. It keeps one publishing and one subscribing
 * connection; after a reconnect ioredis resubscribes every channel (messages published while
 * disconnected are lost, as pub/sub is at-most-once).
 *
 * A publish issued after a `subscribe` on the same bus waits until Redis has confirmed that
 * subscription, so a process hears its own messages.
 *
 * @example
 * const bus = createRedisEventBus('redis://127.0.0.1:6379');
 */
export function createRedisEventBus(url: string, opts: RedisEventBusOptions = {}): EventBus {
  const prefix = opts.channelPrefix ?? 'halftone:';
  const onError = opts.onError ?? warnEventBusError;
  const named = (role: string) =>
    opts.connectionName === undefined ? {} : { connectionName: `${opts.connectionName}:${role}` };
  const publisher = new Redis(url, { ...named('pub') });
  // No ready check on the subscriber: its INFO could follow a SUBSCRIBE issued while connecting,
  // and ioredis refuses INFO in subscriber mode — an error, a reconnect, and messages lost.
  const subscriber = new Redis(url, { ...named('sub'), autoResubscribe: true, enableReadyCheck: false });
  publisher.on('error', (err: unknown) => onError(err, '(publisher connection)'));
  subscriber.on('error', (err: unknown) => onError(err, '(subscriber connection)'));

  const handlers = new Map<string, Set<EventHandler>>();
  // SUBSCRIBE/UNSUBSCRIBE commands not yet confirmed; publishes wait for them.
  const pending = new Set<Promise<void>>();
  // Publishes are issued in call order (without waiting for each other's replies).
  let ordered: Promise<unknown> = Promise.resolve();
  let closed = false;

  const track = (command: Promise<unknown>, topic: string) => {
    const done: Promise<void> = command.then(noop, (err: unknown) => {
      if (!closed) onError(err, topic);
    });
    pending.add(done);
    void done.finally(() => pending.delete(done));
  };

  subscriber.on('message', (channel: string, message: string) => {
    if (!channel.startsWith(prefix)) return;
    const topic = channel.slice(prefix.length);
    const set = handlers.get(topic);
    if (set === undefined) return;
    for (const handler of [...set]) {
      if (!set.has(handler)) continue;
      try {
        handler(JSON.parse(message));
      } catch (err) {
        onError(err, topic);
      }
    }
  });

  return {
    publish(topic, payload) {
      if (closed) return Promise.reject(new Error('Event bus is closed'));
      let json: string;
      try {
        json = encodePayload(payload);
      } catch (err) {
        return Promise.reject(err);
      }
      const barrier = pending.size > 0 ? Promise.all([...pending]) : undefined;
      const issued = ordered.then(async () => {
        if (barrier !== undefined) await barrier;
        // Wrapped so awaiting `issued` does not wait for Redis's reply.
        return { reply: publisher.publish(prefix + topic, json) };
      });
      ordered = issued.catch(noop);
      return issued.then(({ reply }) => reply).then(noop);
    },

    subscribe(topic, handler) {
      if (closed) throw new Error('Event bus is closed');
      let set = handlers.get(topic);
      if (set === undefined) {
        set = new Set();
        handlers.set(topic, set);
        track(subscriber.subscribe(prefix + topic), topic);
      }
      const entry: EventHandler = (payload) => handler(payload);
      set.add(entry);
      let active = true;
      return () => {
        if (!active) return;
        active = false;
        const current = handlers.get(topic);
        if (current === undefined) return;
        current.delete(entry);
        if (current.size === 0) {
          handlers.delete(topic);
          if (!closed) track(subscriber.unsubscribe(prefix + topic), topic);
        }
      };
    },

    async close() {
      if (closed) return;
      closed = true;
      handlers.clear();
      await Promise.all([...pending]);
      await ordered;
      await Promise.all(
        [publisher, subscriber].map((connection) =>
          connection.quit().then(noop, () => connection.disconnect()),
        ),
      );
    },
  };
}
