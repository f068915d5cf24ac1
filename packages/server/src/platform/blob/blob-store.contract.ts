import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isHalftoneError } from '../errors/halftone-error.js';
import type { BlobStore } from './blob-store.js';

/** Options of {@link describeBlobStoreContract}. */
export interface BlobStoreContractOptions {
  /** Temporary files the most recently made store currently holds, to prove cleanup. */
  readonly tempFiles?: () => Promise<string[]>;
}

const sha = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

async function listAll(store: BlobStore): Promise<string[]> {
  const out: string[] = [];
  for await (const id of store.list()) out.push(id);
  return out.sort();
}

async function* chunksOf(...parts: string[]): AsyncIterable<Uint8Array> {
  for (const part of parts) yield Buffer.from(part);
}

async function errorOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

async function expectCode(promise: Promise<unknown>, code: string, status: number): Promise<void> {
  const err = await errorOf(promise);
  expect(isHalftoneError(err) ? { code: err.code, status: err.status } : err).toEqual({
    code,
    status,
  });
}

/**
 * The BlobStore contract, run against every adapter (house style §8.4): the memory fake and the
 * filesystem store always, and each future adapter (S3) in its own suite.
 */
export function describeBlobStoreContract(
  name: string,
  make: () => Promise<BlobStore> | BlobStore,
  opts: BlobStoreContractOptions = {},
): void {
  describe(`BlobStore contract: ${name}`, () => {
    let store: BlobStore;
    const limit = { maxBytes: 1024 * 1024 };

    beforeEach(async () => {
      store = await make();
    });

    afterEach(async () => {
      await store.close?.();
    });

    const expectNoTempFiles = async () => {
      if (opts.tempFiles !== undefined) expect(await opts.tempFiles()).toEqual([]);
    };

    it('stages, commits and reads back by sha256', async () => {
      const staged = await store.stage(chunksOf('hello ', 'world'), limit);
      expect(staged.sha256).toBe(sha('hello world'));
      expect(staged.size).toBe(11);
      await staged.commit();
      expect(await store.stat(staged.sha256)).toEqual({ size: 11 });
      expect((await readAll(await store.openRead(staged.sha256))).toString()).toBe('hello world');
      await expectNoTempFiles();
    });

    it('accepts a Node Readable and string chunks', async () => {
      const staged = await store.stage(Readable.from(['abc', Buffer.from('def')]), limit);
      expect(staged.sha256).toBe(sha('abcdef'));
      await staged.commit();
      expect((await readAll(await store.openRead(staged.sha256))).toString()).toBe('abcdef');
    });

    it('stores empty content', async () => {
      const staged = await store.stage(chunksOf(), limit);
      expect(staged).toMatchObject({ sha256: sha(''), size: 0 });
      await staged.commit();
      expect(await store.stat(sha(''))).toEqual({ size: 0 });
      expect((await readAll(await store.openRead(sha('')))).length).toBe(0);
    });

    it('streams a large blob intact', async () => {
      const big = Buffer.alloc(3 * 1024 * 1024 + 17);
      for (let i = 0; i < big.length; i++) big[i] = (i * 31) % 251;
      const chunks = Array.from({ length: Math.ceil(big.length / 65536) }, (_, i) =>
        big.subarray(i * 65536, (i + 1) * 65536),
      );
      const staged = await store.stage(Readable.from(chunks), { maxBytes: big.length });
      await staged.commit();
      const back = await readAll(await store.openRead(staged.sha256));
      expect(back.equals(big)).toBe(true);
    });

    it('lets the caller inspect the staged file before commit', async () => {
      const staged = await store.stage(chunksOf('inspect me'), limit);
      expect(readFileSync(staged.path, 'utf8')).toBe('inspect me');
      await staged.commit();
      expect(existsSync(staged.path)).toBe(false);
    });

    it('keeps staged content invisible until commit', async () => {
      const staged = await store.stage(chunksOf('not yet'), limit);
      expect(await store.stat(staged.sha256)).toBeNull();
      expect(await listAll(store)).toEqual([]);
      await expectCode(store.openRead(staged.sha256), 'HT_BLOB_NOT_FOUND', 404);
      await staged.commit();
      expect(await listAll(store)).toEqual([staged.sha256]);
    });

    it('discards staged content', async () => {
      const staged = await store.stage(chunksOf('drop me'), limit);
      await staged.discard();
      await staged.discard();
      expect(existsSync(staged.path)).toBe(false);
      expect(await store.stat(staged.sha256)).toBeNull();
      await expect(staged.commit()).rejects.toThrow(/discarded/);
      await expectNoTempFiles();
    });

    it('treats commit as idempotent and discard after commit as a no-op', async () => {
      const staged = await store.stage(chunksOf('twice'), limit);
      await staged.commit();
      await staged.commit();
      await staged.discard();
      expect(await store.stat(staged.sha256)).toEqual({ size: 5 });
    });

    it('reads inclusive byte ranges, clamping the end', async () => {
      const staged = await store.stage(chunksOf('0123456789'), limit);
      await staged.commit();
      const read = async (start: number, end: number) =>
        (await readAll(await store.openRead(staged.sha256, { start, end }))).toString();
      expect(await read(2, 5)).toBe('2345');
      expect(await read(0, 0)).toBe('0');
      expect(await read(9, 9)).toBe('9');
      expect(await read(7, 1000)).toBe('789');
      await expectCode(
        store.openRead(staged.sha256, { start: 10, end: 12 }),
        'HT_RANGE_NOT_SATISFIABLE',
        416,
      );
      await expectCode(
        store.openRead(staged.sha256, { start: 5, end: 4 }),
        'HT_RANGE_NOT_SATISFIABLE',
        416,
      );
      await expectCode(
        store.openRead(staged.sha256, { start: -1, end: 4 }),
        'HT_RANGE_NOT_SATISFIABLE',
        416,
      );
    });

    it('answers null / HT_BLOB_NOT_FOUND for unknown or malformed digests', async () => {
      const unknown = sha('never stored');
      expect(await store.stat(unknown)).toBeNull();
      expect(await store.stat('../../etc/passwd')).toBeNull();
      await expectCode(store.openRead(unknown), 'HT_BLOB_NOT_FOUND', 404);
      await expectCode(store.openRead('../../etc/passwd'), 'HT_BLOB_NOT_FOUND', 404);
    });

    it('deletes, and deleting a missing blob is a no-op', async () => {
      const staged = await store.stage(chunksOf('delete me'), limit);
      await staged.commit();
      await store.delete(staged.sha256);
      expect(await store.stat(staged.sha256)).toBeNull();
      expect(await listAll(store)).toEqual([]);
      await store.delete(staged.sha256);
      await store.delete('not-a-digest');
    });

    it('lists every committed blob', async () => {
      const ids: string[] = [];
      for (const text of ['a', 'b', 'c', 'd']) {
        const staged = await store.stage(chunksOf(text), limit);
        await staged.commit();
        ids.push(staged.sha256);
      }
      expect(await listAll(store)).toEqual(ids.sort());
    });

    it('accepts exactly maxBytes and rejects one more with HT_UPLOAD_TOO_LARGE', async () => {
      const staged = await store.stage(chunksOf('12345'), { maxBytes: 5 });
      await staged.discard();
      await expectCode(
        store.stage(chunksOf('123', '456'), { maxBytes: 5 }),
        'HT_UPLOAD_TOO_LARGE',
        413,
      );
      await expectNoTempFiles();
      expect(await listAll(store)).toEqual([]);
    });

    it('stops reading an endless source at the limit', async () => {
      let produced = 0;
      async function* endless(): AsyncIterable<Uint8Array> {
        for (;;) {
          produced++;
          yield Buffer.alloc(1024);
        }
      }
      await expectCode(store.stage(endless(), { maxBytes: 10_000 }), 'HT_UPLOAD_TOO_LARGE', 413);
      expect(produced).toBeLessThanOrEqual(11);
      await expectNoTempFiles();
    });

    it('rejects content that does not match expectedSha256 and keeps nothing', async () => {
      await expectCode(
        store.stage(chunksOf('actual'), { ...limit, expectedSha256: sha('expected') }),
        'HT_BLOB_HASH_MISMATCH',
        400,
      );
      await expectNoTempFiles();
      expect(await store.stat(sha('actual'))).toBeNull();
      const staged = await store.stage(chunksOf('actual'), {
        ...limit,
        expectedSha256: sha('actual').toUpperCase(),
      });
      expect(staged.sha256).toBe(sha('actual'));
      await staged.discard();
    });

    it('removes the temporary file when the source fails', async () => {
      async function* failing(): AsyncIterable<Uint8Array> {
        yield Buffer.from('partial');
        throw new Error('connection reset');
      }
      await expect(store.stage(failing(), limit)).rejects.toThrow('connection reset');
      await expectNoTempFiles();
      expect(await listAll(store)).toEqual([]);
    });

    it('stores identical content once when committed twice', async () => {
      const first = await store.stage(chunksOf('same'), limit);
      await first.commit();
      const second = await store.stage(chunksOf('sa', 'me'), limit);
      await second.commit();
      expect(await listAll(store)).toEqual([sha('same')]);
      expect((await readAll(await store.openRead(sha('same')))).toString()).toBe('same');
      await expectNoTempFiles();
    });

    it('handles concurrent stages and commits of the same content', async () => {
      const content = 'x'.repeat(200_000);
      const staged = await Promise.all(
        Array.from({ length: 5 }, () => store.stage(Readable.from([content]), limit)),
      );
      expect(new Set(staged.map((s) => s.path)).size).toBe(5);
      await Promise.all(staged.map((s) => s.commit()));
      expect(await listAll(store)).toEqual([sha(content)]);
      expect((await readAll(await store.openRead(sha(content)))).toString()).toBe(content);
      await expectNoTempFiles();
    });
  });
}
