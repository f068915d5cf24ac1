import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { UnparseableLine, decodeBatch } from './batch-decoding.js';
import { crashFingerprint, normaliseFrame, normaliseStack } from './crash-fingerprint.js';
import { checkHeader, checkItem } from './events-schemas.js';
import { MAX_FUTURE_MS, correctTimestamp, parseTimestamp } from './events-service.js';
import { RateLimiter } from './rate-limiter.js';

describe('crash normalisation and grouping', () => {
  it('strips addresses, offsets, line/column numbers and build hashes, keeping frames', () => {
    expect(normaliseFrame('    at render (https://cdn.x/home.3f9a1c2b.js:10:2345)')).toBe('render (https://cdn.x/home..js)');
    expect(normaliseFrame('at com.acme.Home.onCreate(Home.java:123)')).toBe('com.acme.Home.onCreate(Home.java)');
    expect(normaliseFrame('3   MyApp                0x0000000100a8c123 main + 52')).toBe('MyApp main');
    expect(normaliseFrame('at com.acme.Home$1.run(Home.java:9)')).toBe('com.acme.Home$.run(Home.java)');
    expect(normaliseStack('Error: x\n\n   at a (a.js:1:1)\n ... 12 more\n')).toEqual(['Error: x', 'a (a.js)']);
  });

  it('gives one fingerprint to the same code path across builds, and different ones otherwise', () => {
    const a = crashFingerprint({ exceptionType: 'TypeError', stack: 'at f (app.aaaaaaaa.js:1:10)\nat g (app.aaaaaaaa.js:2:20)' });
    const b = crashFingerprint({ exceptionType: 'TypeError', stack: 'at f (app.bbbbbbbb.js:7:99)\nat g (app.bbbbbbbb.js:8:1)' });
    const c = crashFingerprint({ exceptionType: 'RangeError', stack: 'at f (app.aaaaaaaa.js:1:10)\nat g (app.aaaaaaaa.js:2:20)' });
    const d = crashFingerprint({ exceptionType: 'TypeError', stack: 'at h (app.js:1:10)' });
    expect(a.fingerprint).toBe(b.fingerprint);
    expect(a.fingerprint).not.toBe(c.fingerprint);
    expect(a.fingerprint).not.toBe(d.fingerprint);
    expect(a.fingerprint).toMatch(/^[0-9a-f]{32}$/);
    // An explicit signature wins over the stack; without either, the message's shape groups.
    expect(crashFingerprint({ signature: 'at f (x.js:1:1)', stack: 'at other (y.js)' }).frames).toEqual(['f (x.js)']);
    const m1 = crashFingerprint({ exceptionType: 'OOM', message: 'failed to allocate 1234 bytes at 0xdeadbeef' });
    const m2 = crashFingerprint({ exceptionType: 'OOM', message: 'failed to allocate 99 bytes at 0xcafe' });
    expect(m1.fingerprint).toBe(m2.fingerprint);
  });
});

describe('clock skew', () => {
  it('adds receive time − sent_at to item timestamps, clamping the future', () => {
    expect(correctTimestamp(1_000, 10_000, 60_000)).toBe(51_000);
    expect(correctTimestamp(70_001, 10_000, 10_000)).toBe(10_000); // over 60 s ahead after correction: clamped
    expect(correctTimestamp(10_000 + MAX_FUTURE_MS, 10_000, 10_000)).toBe(10_000 + MAX_FUTURE_MS);
    expect(parseTimestamp('2026-11-21T10:00:00.000Z')).toBe(Date.parse('2026-11-21T10:00:00.000Z'));
    expect(parseTimestamp(1234)).toBe(1234);
    expect(parseTimestamp('yesterday')).toBeNaN();
    expect(parseTimestamp('1234')).toBeNaN();
  });
});

describe('validation', () => {
  const id = '0190f5a4-1c2d-7e3f-8a4b-5c6d7e8f9a0b';
  it('checks items against the schema of their type', () => {
    expect(checkItem({ id, type: 'session', ts: 1, sid: 's', phase: 'start', status: 'ok' }).ok).toBe(true);
    expect(checkItem({ id, type: 'session', ts: 1, sid: 's', phase: 'middle', status: 'ok' })).toMatchObject({ ok: false, code: 'invalid' });
    expect(checkItem({ id: 'nope', type: 'anr', ts: 1 })).toMatchObject({ ok: false, code: 'invalid' });
    expect(checkItem({ id, type: 'warp', ts: 1 })).toMatchObject({ ok: false, code: 'unknown_type' });
    expect(checkItem(null)).toMatchObject({ ok: false, code: 'unknown_type' });
    expect(checkItem({ id, type: 'install', ts: 1, module: 'home', version: '1.0.0', ok: false, error: 'disk full' }).ok).toBe(true);
    expect(checkItem({ id, type: 'custom', ts: 1, name: 'x', attributes: { a: { nested: 1 } } }).ok).toBe(false);
    expect(checkItem({ id, type: 'client_report', ts: 1, discarded: [{ reason: 'queue_overflow', category: 'event', quantity: 3 }] }).ok).toBe(true);
  });
  it('checks the header and reports field paths', () => {
    const h = { deviceId: 'd', app: 'demo', platform: 'android', appVersion: '1', sent_at: 1, modules: {} };
    expect(checkHeader(h).ok).toBe(true);
    const bad = checkHeader({ ...h, modules: { home: 3 } });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.problems[0]?.path).toBe('/modules/home');
  });
  it('decodes JSON and NDJSON, gzip or not, and marks unparseable lines', () => {
    const limits = { maxBytes: 10_000, maxItems: 10 };
    const nd = Buffer.from('{"h":1}\n{"a":1}\n\nnot json\n');
    const d = decodeBatch(gzipSync(nd), 'application/x-ndjson', 'gzip', limits);
    expect(d.header).toEqual({ h: 1 });
    expect(d.items[0]).toEqual({ a: 1 });
    expect(d.items[1]).toBeInstanceOf(UnparseableLine);
    expect(decodeBatch(Buffer.from('{"header":{},"items":[]}'), 'application/json', undefined, limits).items).toEqual([]);
    expect(() => decodeBatch(Buffer.from('x'), 'text/plain', undefined, limits)).toThrow(/Unsupported media type/);
    expect(() => decodeBatch(gzipSync(Buffer.alloc(20_000)), 'application/json', 'gzip', limits)).toThrow(/10000 bytes/);
  });
});

describe('rate limiter', () => {
  it('admits whole batches within the window and says when to retry', () => {
    const rl = new RateLimiter({
      windowSeconds: 60,
      limits: { session: 5, crash: 2, anr: 2, install: 5, event: 100, feedback: 1, clientReport: 1 },
    });
    expect(rl.take('d1', { crash: 2, session: 1 }, 0).ok).toBe(true);
    expect(rl.take('d1', { crash: 1 }, 10_000)).toEqual({ ok: false, retryAfterSeconds: 50, categories: ['crash'] });
    // A refused batch takes nothing: the session budget is still 4.
    expect(rl.take('d1', { session: 4 }, 20_000).ok).toBe(true);
    expect(rl.take('d2', { crash: 2 }, 20_000).ok).toBe(true);
    expect(rl.take('d1', { crash: 2 }, 60_000).ok).toBe(true);
  });
});
