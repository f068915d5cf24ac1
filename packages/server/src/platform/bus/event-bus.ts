import { configInvalid } from '../errors/platform-errors.js';
import { createMemoryEventBus } from './event-bus.memory.js';

/** Receives the payloads published on a topic. Exceptions it throws are reported, not spread. */
export type EventHandler = (payload: unknown) => void;

/**
 * Fire-and-forget publish/subscribe between the parts of the server (sync fan-out, cache
 * invalidation): in-process for `role=all`, Redis between processes.
 *
 * Payloads must be JSON-serializable; every subscriber receives its own deep copy (as if it
 * had crossed the network, even in memory). Delivery is asynchronous, in publish order per
 * publisher, at most once: a subscriber that is not connected when a message is published
 * misses it, so use the bus to invalidate, and read the state itself from the database.
 */
export interface EventBus {
  /** Publishes `payload` to every current subscriber of `topic`. Resolves once sent. */
  publish(topic: string, payload: unknown): Promise<void>;
  /** Subscribes `handler` to `topic`; returns the function that unsubscribes it. */
  subscribe(topic: string, handler: EventHandler): () => void;
  /** Stops delivery and releases connections. Publishing afterwards rejects. */
  close(): Promise<void>;
}

/** Options shared by the event bus adapters. */
export interface EventBusOptions {
  /** Called when a handler throws or a message cannot be decoded. Defaults to a process warning. */
  readonly onError?: (err: unknown, topic: string) => void;
}

/**
 * Opens the event bus named by a `HALFTONE_BUS_URL`: `memory:` or `redis://…` / `rediss://…`.
 * The Redis adapter (and ioredis) is loaded only when asked for.
 *
 * @example
 * const bus = await createEventBus('redis://127.0.0.1:6379');
 * const off = bus.subscribe('release.published', (p) => invalidate(p));
 */
export async function createEventBus(url: string, opts: EventBusOptions = {}): Promise<EventBus> {
  if (url === 'memory:') return createMemoryEventBus(opts);
  if (url.startsWith('redis://') || url.startsWith('rediss://')) {
    const { createRedisEventBus } = await import('./event-bus.redis.js');
    return createRedisEventBus(url, opts);
  }
  throw configInvalid(undefined, { detail: 'Bus URL must be memory: or redis://…' });
}
