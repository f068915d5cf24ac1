import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EventBus, EventBusOptions } from './event-bus.js';

/** Collects what a subscriber receives and lets a test wait for it. */
export interface Recorder {
  readonly received: unknown[];
  readonly handler: (payload: unknown) => void;
  /** Resolves once `count` payloads have arrived; rejects after `timeoutMs`. */
  waitFor(count: number, timeoutMs?: number): Promise<unknown[]>;
}

/** A subscriber that records every payload. */
export function createRecorder(): Recorder {
  const received: unknown[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  return {
    received,
    handler(payload) {
      received.push(payload);
      for (const w of [...waiters]) if (received.length >= w.count) w.resolve();
    },
    waitFor(count, timeoutMs = 5000) {
      if (received.length >= count) return Promise.resolve(received);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`received ${received.length} of ${count} messages`)),
          timeoutMs,
        );
        waiters.push({
          count,
          resolve: () => {
            clearTimeout(timer);
            resolve(received);
          },
        });
      });
    },
  };
}

/**
 * The EventBus contract, run on the memory bus always and on Redis when
 * `HALFTONE_TEST_REDIS_URL` is set. `make` gets the `onError` the suite observes and must return
 * a bus isolated from other test runs (e.g. a unique Redis channel prefix).
 */
export function describeEventBusContract(
  name: string,
  make: (opts: EventBusOptions) => Promise<EventBus> | EventBus,
): void {
  describe(`EventBus contract: ${name}`, () => {
    let bus: EventBus;
    let errors: { err: unknown; topic: string }[];

    beforeEach(async () => {
      errors = [];
      bus = await make({ onError: (err, topic) => errors.push({ err, topic }) });
    });

    afterEach(async () => {
      await bus.close();
    });

    it('delivers a published payload to a subscriber, asynchronously', async () => {
      const rec = createRecorder();
      bus.subscribe('release.published', rec.handler);
      const publishing = bus.publish('release.published', { releaseId: 'rel_1', n: 1 });
      expect(rec.received).toEqual([]);
      await publishing;
      expect(await rec.waitFor(1)).toEqual([{ releaseId: 'rel_1', n: 1 }]);
    });

    it('delivers in publish order', async () => {
      const rec = createRecorder();
      bus.subscribe('seq', rec.handler);
      const sends: Promise<void>[] = [];
      for (let i = 0; i < 100; i++) sends.push(bus.publish('seq', i));
      await Promise.all(sends);
      expect(await rec.waitFor(100)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    });

    it('delivers every JSON value type', async () => {
      const rec = createRecorder();
      bus.subscribe('values', rec.handler);
      const values = [null, true, 0, -1.5, 'text', [1, 'two'], { nested: { deep: [null] } }];
      for (const value of values) await bus.publish('values', value);
      expect(await rec.waitFor(values.length)).toEqual(values);
    });

    it('delivers to every subscriber of a topic', async () => {
      const a = createRecorder();
      const b = createRecorder();
      bus.subscribe('fanout', a.handler);
      bus.subscribe('fanout', b.handler);
      await bus.publish('fanout', 'hello');
      expect(await a.waitFor(1)).toEqual(['hello']);
      expect(await b.waitFor(1)).toEqual(['hello']);
    });

    it('delivers twice to a function subscribed twice, and unsubscribes each separately', async () => {
      const rec = createRecorder();
      const off1 = bus.subscribe('twice', rec.handler);
      bus.subscribe('twice', rec.handler);
      await bus.publish('twice', 1);
      await rec.waitFor(2);
      off1();
      await bus.publish('twice', 2);
      expect(await rec.waitFor(3)).toEqual([1, 1, 2]);
    });

    it('stops delivering after unsubscribe', async () => {
      const gone = createRecorder();
      const stays = createRecorder();
      const off = bus.subscribe('unsub', gone.handler);
      bus.subscribe('unsub', stays.handler);
      await bus.publish('unsub', 'before');
      await gone.waitFor(1);
      off();
      off();
      await bus.publish('unsub', 'after');
      await stays.waitFor(2);
      expect(gone.received).toEqual(['before']);
    });

    it('stops delivering when the last subscriber leaves, and resumes on resubscribe', async () => {
      const rec = createRecorder();
      const off = bus.subscribe('again', rec.handler);
      off();
      await bus.publish('again', 'missed');
      const marker = createRecorder();
      bus.subscribe('marker', marker.handler);
      await bus.publish('marker', 'sync');
      await marker.waitFor(1);
      bus.subscribe('again', rec.handler);
      await bus.publish('again', 'heard');
      expect(await rec.waitFor(1)).toEqual(['heard']);
    });

    it('keeps topics apart', async () => {
      const a = createRecorder();
      const b = createRecorder();
      bus.subscribe('topic.a', a.handler);
      bus.subscribe('topic.b', b.handler);
      await bus.publish('topic.b', 'for b');
      await bus.publish('topic.a', 'for a');
      await bus.publish('topic.a.more', 'for nobody');
      await bus.publish('topic.b', 'for b again');
      await b.waitFor(2);
      expect(await a.waitFor(1)).toEqual(['for a']);
      expect(b.received).toEqual(['for b', 'for b again']);
    });

    it('gives each subscriber its own copy of the payload', async () => {
      const first = createRecorder();
      const second = createRecorder();
      bus.subscribe('clone', (payload) => {
        (payload as { list: number[] }).list.push(99);
        first.handler(payload);
      });
      bus.subscribe('clone', second.handler);
      const payload = { list: [1], when: new Date(0) };
      const sent = bus.publish('clone', payload);
      payload.list.push(2);
      await sent;
      await first.waitFor(1);
      expect(await second.waitFor(1)).toEqual([{ list: [1], when: '1970-01-01T00:00:00.000Z' }]);
      expect(first.received[0]).not.toBe(payload);
    });

    it('rejects payloads that are not JSON-serializable', async () => {
      await expect(bus.publish('bad', undefined)).rejects.toThrow(TypeError);
      await expect(bus.publish('bad', 10n)).rejects.toThrow(TypeError);
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      await expect(bus.publish('bad', cyclic)).rejects.toThrow(TypeError);
    });

    it('reports a throwing handler and still delivers to the others', async () => {
      const rec = createRecorder();
      bus.subscribe('throws', () => {
        throw new Error('handler bug');
      });
      bus.subscribe('throws', rec.handler);
      await bus.publish('throws', 1);
      await bus.publish('throws', 2);
      expect(await rec.waitFor(2)).toEqual([1, 2]);
      expect(errors.map((e) => [e.topic, (e.err as Error).message])).toEqual([
        ['throws', 'handler bug'],
        ['throws', 'handler bug'],
      ]);
    });

    it('rejects publishing after close', async () => {
      await bus.close();
      await expect(bus.publish('closed', 1)).rejects.toThrow(/closed/);
    });
  });
}
