import { describe, expect, it } from 'vitest';
import { createRecorder, describeEventBusContract } from './event-bus.contract.js';
import { createEventBus } from './event-bus.js';
import { createMemoryEventBus } from './event-bus.memory.js';

describeEventBusContract('memory', (opts) => createMemoryEventBus(opts));

describe('createMemoryEventBus', () => {
  it('isolates separate buses', async () => {
    const one = createMemoryEventBus();
    const two = createMemoryEventBus();
    const rec = createRecorder();
    two.subscribe('t', rec.handler);
    const own = createRecorder();
    one.subscribe('t', own.handler);
    await one.publish('t', 1);
    await own.waitFor(1);
    expect(rec.received).toEqual([]);
    await Promise.all([one.close(), two.close()]);
  });

  it('is what createEventBus("memory:") returns', async () => {
    const bus = await createEventBus('memory:');
    const rec = createRecorder();
    bus.subscribe('t', rec.handler);
    await bus.publish('t', 'x');
    expect(await rec.waitFor(1)).toEqual(['x']);
    await bus.close();
  });

  it('rejects unknown bus URLs', async () => {
    await expect(createEventBus('nats://localhost')).rejects.toMatchObject({
      code: 'HT_CONFIG_INVALID',
    });
  });
});
