import { createHash } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { generateSecret, hashSecret, isId, newId, timingSafeEqualHex } from './ids.js';

describe('newId', () => {
  it('is prefix_ + 26 Crockford base32 characters', () => {
    const id = newId('rel');
    expect(id).toMatch(/^rel_[0-9a-hjkmnp-tv-z]{26}$/);
    expect(isId(id, 'rel')).toBe(true);
    expect(isId(id, 'app')).toBe(false);
    expect(isId(id)).toBe(true);
  });

  it.each([
    [0, '0000000000'],
    [1_700_000_000_000, '01hf7yat00'], // as in ULID 01HF7YAT00…,
    [2 ** 48 - 1, '7zzzzzzzzz'],
  ])('encodes timestamp %d in the first 10 characters as %s', async (ms, encoded) => {
    // A fresh module: the monotonic state of earlier ids would otherwise win over older times.
    vi.resetModules();
    const fresh = await import('./ids.js');
    expect(fresh.newId('x', ms).slice(2, 12)).toBe(encoded);
  });

  it('never goes back in time within a process', () => {
    const later = newId('x', 4_000_000_000_000);
    const earlier = newId('x', 3_999_999_999_000);
    expect(earlier > later).toBe(true);
    expect(earlier.slice(2, 12)).toBe(later.slice(2, 12));
  });

  it('sorts in creation order, also within one millisecond', () => {
    const ids = Array.from({ length: 5000 }, () => newId('evt'));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    const sameMs = Array.from({ length: 100 }, () => newId('evt', 2_000_000_000_000));
    expect([...sameMs].sort()).toEqual(sameMs);
  });

  it('sorts by time across timestamps', () => {
    const early = newId('a', 3_000_000_000_000);
    const late = newId('a', 3_000_000_000_001);
    expect(early < late).toBe(true);
  });

  it('rejects bad prefixes and timestamps', () => {
    expect(() => newId('Rel')).toThrow(TypeError);
    expect(() => newId('')).toThrow(TypeError);
    expect(() => newId('rel_')).toThrow(TypeError);
    expect(() => newId('x', -1)).toThrow(RangeError);
    expect(() => newId('x', 2 ** 48)).toThrow(RangeError);
  });

  it('isId rejects lookalikes', () => {
    expect(isId('rel_01hf7ynt00')).toBe(false);
    expect(isId(`rel_8${'0'.repeat(25)}`)).toBe(false);
    expect(isId(`rel_0${'i'.repeat(25)}`)).toBe(false);
    expect(isId(`rel_${'0'.repeat(26)}`, 'Bad')).toBe(false);
  });
});

describe('secrets', () => {
  it('generates prefixed base64url secrets of 32 random bytes', () => {
    const secret = generateSecret('hat_');
    expect(secret).toMatch(/^hat_[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(secret.slice(4), 'base64url')).toHaveLength(32);
    expect(generateSecret('hat_')).not.toBe(secret);
  });

  it('hashes secrets with sha256 hex', () => {
    expect(hashSecret('abc')).toBe(createHash('sha256').update('abc').digest('hex'));
    expect(hashSecret('abc')).toMatch(/^[0-9a-f]{64}$/);
  });

  it('compares hex strings', () => {
    const h = hashSecret('x');
    expect(timingSafeEqualHex(h, hashSecret('x'))).toBe(true);
    expect(timingSafeEqualHex(h, h.toUpperCase())).toBe(true);
    expect(timingSafeEqualHex(h, hashSecret('y'))).toBe(false);
    expect(timingSafeEqualHex(h, h.slice(2))).toBe(false);
    expect(timingSafeEqualHex('zz', 'zz')).toBe(false);
    expect(timingSafeEqualHex('abc', 'abc')).toBe(false);
    expect(timingSafeEqualHex('', '')).toBe(true);
  });
});
