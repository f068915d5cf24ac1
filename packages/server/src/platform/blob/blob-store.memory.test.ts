import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { describeBlobStoreContract } from './blob-store.contract.js';
import { createBlobStore } from './blob-store.js';
import { createMemoryBlobStore } from './blob-store.memory.js';

const root = mkdtempSync(join(tmpdir(), 'halftone-memblob-test-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let current = '';
describeBlobStoreContract(
  'memory',
  () => {
    current = mkdtempSync(join(root, 'case-'));
    return createMemoryBlobStore({ tempRoot: current });
  },
  {
    tempFiles: async () =>
      readdirSync(current, { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile())
        .map((e) => e.name),
  },
);

describe('createMemoryBlobStore', () => {
  it('removes its staging directory on close', async () => {
    const tempRoot = mkdtempSync(join(root, 'close-'));
    const store = createMemoryBlobStore({ tempRoot });
    const staged = await store.stage([Buffer.from('pending')], { maxBytes: 100 });
    expect(readdirSync(tempRoot)).toHaveLength(1);
    await store.close?.();
    expect(readdirSync(tempRoot)).toEqual([]);
    expect(staged.size).toBe(7);
  });

  it('is what createBlobStore("memory:") returns', async () => {
    const store = await createBlobStore('memory:');
    const staged = await store.stage([Buffer.from('x')], { maxBytes: 1 });
    await staged.commit();
    expect(await store.stat(staged.sha256)).toEqual({ size: 1 });
    await store.close?.();
  });

  it('rejects unknown blob URL schemes', async () => {
    await expect(createBlobStore('s3://bucket')).rejects.toMatchObject({
      code: 'HT_CONFIG_INVALID',
    });
    await expect(createBlobStore('file:')).rejects.toMatchObject({ code: 'HT_CONFIG_INVALID' });
  });
});
