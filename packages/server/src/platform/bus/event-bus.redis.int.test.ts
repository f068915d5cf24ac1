import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createRecorder, describeEventBusContract } from './event-bus.contract.js';
import { createEventBus } from './event-bus.js';
import { createRedisEventBus } from './event-bus.redis.js';

const redisUrl = process.env.HALFTONE_TEST_REDIS_URL || undefined;
const uniquePrefix = () => `halftone-test:${randomBytes(6).toString('hex')}:`;

/** Publishes until the recorder hears something: for subscriptions made on another connection. */
async function publishUntilHeard(
  publish: () => Promise<void>,
  rec: ReturnType<typeof createRecorder>,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (rec.received.length === 0) {
    if (Date.now() > deadline) throw new Error('no message arrived');
    await publish();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe.skipIf(redisUrl === undefined)(
  'Redis event bus (HALFTONE_TEST_REDIS_URL is not set)',
  () => {
    const url = redisUrl ?? '';
    const admin = redisUrl === undefined ? undefined : new Redis(url);
    afterAll(async () => {
      await admin?.quit();
    });

    describeEventBusContract('redis', (opts) =>
      createRedisEventBus(url, { ...opts, channelPrefix: uniquePrefix() }),
    );

    it('carries messages between processes (two buses on one Redis)', async () => {
      const channelPrefix = uniquePrefix();
      const a = createRedisEventBus(url, { channelPrefix });
      const b = createRedisEventBus(url, { channelPrefix });
      try {
        const rec = createRecorder();
        b.subscribe('release.published', rec.handler);
        await publishUntilHeard(() => a.publish('release.published', { from: 'a' }), rec);
        expect(rec.received[0]).toEqual({ from: 'a' });
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });

    it('uses the halftone: channel prefix by default', async () => {
      const bus = createRedisEventBus(url);
      const listener = new Redis(url);
      try {
        const topic = `prefix-check-${randomBytes(4).toString('hex')}`;
        const heard = new Promise<[string, string]>((resolve) =>
          listener.on('message', (channel: string, message: string) => resolve([channel, message])),
        );
        await listener.subscribe(`halftone:${topic}`);
        await bus.publish(topic, { ok: true });
        expect(await heard).toEqual([`halftone:${topic}`, '{"ok":true}']);
      } finally {
        await bus.close();
        await listener.quit();
      }
    });

    it('resubscribes after the subscriber connection is dropped', async () => {
      const connectionName = `halftone-test-${randomBytes(4).toString('hex')}`;
      const errors: unknown[] = [];
      const bus = createRedisEventBus(url, {
        channelPrefix: uniquePrefix(),
        connectionName,
        onError: (err) => errors.push(err),
      });
      try {
        const before = createRecorder();
        bus.subscribe('t', before.handler);
        await bus.publish('t', 'before');
        await before.waitFor(1);

        const clients = String(await admin?.call('CLIENT', 'LIST', 'TYPE', 'pubsub'));
        const id = /id=(\d+) .*name=(\S+)/
          .exec(
            clients.split('\n').find((line) => line.includes(`name=${connectionName}:sub`)) ?? '',
          )
          ?.at(1);
        expect(id).toBeDefined();
        await admin?.call('CLIENT', 'KILL', 'ID', String(id));

        const after = createRecorder();
        bus.subscribe('t', after.handler);
        await publishUntilHeard(() => bus.publish('t', 'after'), after);
        expect(after.received[0]).toBe('after');
      } finally {
        await bus.close();
      }
    });

    it('is what createEventBus("redis://…") returns', async () => {
      const bus = await createEventBus(url);
      const rec = createRecorder();
      const topic = `factory-${randomBytes(4).toString('hex')}`;
      bus.subscribe(topic, rec.handler);
      await bus.publish(topic, 1);
      expect(await rec.waitFor(1)).toEqual([1]);
      await bus.close();
    });
  },
);
