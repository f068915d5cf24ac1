import { describe, expect, it } from 'vitest';
import { bucketOf } from '../bucket.js';
import { compilePolicyGroup, PolicyValidationError, weightedBounds } from './compile.js';
import { parseIpv4, rawQueryArg, resolveClientIp, uidSuffixKey, uidToNumber } from './features.js';
import type { GatewayRequestFeatures, PolicyGroup } from './types.js';
import { validatePolicy } from './validate.js';

function req(p: Partial<GatewayRequestFeatures> & { hdr?: Record<string, string> } = {}): GatewayRequestFeatures {
  const hdr = p.hdr ?? {};
  return {
    url: '/',
    headers: (n) => hdr[n.toLowerCase()],
    cookie: () => undefined,
    query: (n) => rawQueryArg(p.url ?? '/', n),
    ...p,
  };
}

describe('features', () => {
  it('parses IPv4 like inet_aton', () => {
    expect(parseIpv4('10.0.0.0')).toBe(167772160);
    expect(parseIpv4('127.1')).toBe(2130706433);
    expect(parseIpv4('2130706433')).toBe(2130706433);
    expect(parseIpv4('0x7f.1')).toBe(2130706433);
    expect(parseIpv4('255.255.255.255')).toBe(4294967295);
    for (const bad of ['1.2.3.4,', '256.1.1.1', '1.2.3.4.5', '', 'abc', '::1', '1..2']) expect(parseIpv4(bad)).toBeUndefined();
    // inet_aton's short forms: the last part fills the remaining bytes.
    expect(parseIpv4('1.2.65535')).toBe(1 * 2 ** 24 + 2 * 2 ** 16 + 65535);
    expect(parseIpv4('1.16777215')).toBe(2 ** 24 + 16777215);
    expect(parseIpv4('010.0.0.1')).toBe(8 * 2 ** 24 + 1); // octal
    expect(parseIpv4('0x')).toBe(0);
    expect(parseIpv4('1.2.3.4 \t')).toBe(16909060);
    for (const bad of ['1.2.65536', '1.16777216', '08.1.1.1', '4294967296', '1.2.3.256', '256.1', '1.2.3.', ' 1.2.3.4']) {
      expect(parseIpv4(bad), bad).toBeUndefined();
    }
  });
  it('computes uidsuffix keys with floored modulo, exactly for long uids', () => {
    expect(uidSuffixKey('31')).toBe('1');
    expect(uidSuffixKey('-9')).toBe('1');
    expect(uidSuffixKey('-10')).toBe('0');
    expect(uidSuffixKey('223456789012345678')).toBe('8');
    expect(uidSuffixKey('x1')).toBeUndefined();
  });
  it('reads uids like Lua tonumber, plain digits (the fast path) and every other form alike', () => {
    // Plain digits take a fast path; each must agree with the general rule (Number of the text).
    for (const uid of ['0', '7', '31', '007', '1000', '999999999999999', '123456789012345']) {
      expect(uidToNumber(uid), uid).toBe(Number(uid));
      expect(uidSuffixKey(uid), uid).toBe(String(Number(uid.slice(-1))));
    }
    // Forms the fast path leaves to the general one.
    expect(uidToNumber(' 31 ')).toBe(31);
    expect(uidToNumber('-9')).toBe(-9);
    expect(uidToNumber('+5')).toBe(5);
    expect(uidToNumber('1e3')).toBe(1000);
    expect(uidToNumber('0x1F')).toBe(31);
    expect(uidToNumber('3.5')).toBe(3.5);
    expect(uidToNumber('1234567890123456789')).toBe(1234567890123456789);
    for (const bad of ['', ' ', 'abc', '3a', 'inf', 'nan', '1 2']) expect(uidToNumber(bad), bad).toBeUndefined();
    expect(uidSuffixKey(' 31 ')).toBe('1');
    expect(uidSuffixKey('')).toBeUndefined();
    expect(uidSuffixKey('3.5')).toBe('3.5');
  });
  it('answers the same IPv4 parse for a repeated text as for a new one (one remembered answer)', () => {
    for (const text of ['127.0.0.1', '127.0.0.1', 'garbage', 'garbage', '10.1', '', '10.1', '127.0.0.1']) {
      const fresh = parseIpv4(` ${text}`.slice(1)); // a different string object with the same text
      expect(parseIpv4(text), text).toBe(fresh);
    }
    expect(parseIpv4('10.1')).toBe(167772161);
    expect(parseIpv4('')).toBeUndefined();
  });
  it('resolves the client IP: X-Real-IP, then left-most XFF, then peer; headers only from trusted peers', () => {
    const t = () => true;
    expect(resolveClientIp('127.0.0.1', '10.0.0.1', '192.168.1.7', t)).toBe('10.0.0.1');
    expect(resolveClientIp('127.0.0.1', undefined, '192.168.1.7, 10.0.0.2', t)).toBe('192.168.1.7');
    expect(resolveClientIp('127.0.0.1', undefined, '192.168.1.7 10.0.0.2', t)).toBe('192.168.1.7');
    expect(resolveClientIp('127.0.0.1', undefined, undefined, t)).toBe('127.0.0.1');
    expect(resolveClientIp('127.0.0.1', 'garbage', '192.168.1.7', t)).toBeUndefined(); // no fallback (DIV-22)
    expect(resolveClientIp('203.0.113.9', '10.0.0.1', '1.2.3.4', () => false)).toBe('203.0.113.9');
  });
});

describe('compilePolicyGroup', () => {
  it('rejects invalid groups and treats an empty group as off', () => {
    expect(() => compilePolicyGroup([{ divtype: 'uidrange', divdata: [] }])).toThrow(PolicyValidationError);
    expect(compilePolicyGroup([])(req({ uid: '1' }))).toBeNull();
  });

  it('first match wins, in level order', () => {
    const group: PolicyGroup = [
      { divtype: 'uidappoint', divdata: [{ uidset: ['7'], upstream: 'a' }] },
      { divtype: 'uidsuffix', divdata: [{ suffix: 7, upstream: 'b' }] },
      { divtype: 'url', divdata: [{ url: '/x', upstream: 'c' }] },
    ];
    const m = compilePolicyGroup(group);
    expect(m(req({ uid: '7', url: '/x' }))).toEqual({ upstream: 'a', policyIndex: 0 });
    expect(m(req({ uid: '17', url: '/x' }))).toEqual({ upstream: 'b', policyIndex: 1 });
    expect(m(req({ uid: '18', url: '/x?q=1' }))).toEqual({ upstream: 'c', policyIndex: 2 });
    expect(m(req({ uid: '18', url: '/y' }))).toBeNull();
  });

  it('skips levels whose feature is absent, empty or unparsable', () => {
    const m = compilePolicyGroup([
      { divtype: 'uidrange', divdata: [{ range: { start: 0, end: 1e12 }, upstream: 'uid' }] },
      { divtype: 'iprange', divdata: [{ range: { start: 0, end: 4294967295 }, upstream: 'ip' }] },
      { divtype: 'arg_city', divdata: [{ city: 'BJ', upstream: 'city' }] },
      {
        divtype: 'percentage',
        divdata: { key: { from: 'cookie', name: 'sid' }, salt: 's', percent: 100, upstream: 'pct' },
      },
    ]);
    expect(m(req({ uid: '5' }))?.upstream).toBe('uid');
    expect(m(req({ uid: '', ip: '1.2.3.4' }))?.upstream).toBe('ip');
    expect(m(req({ uid: 'abc', ip: 'nope', city: 'BJ' }))?.upstream).toBe('city');
    expect(m(req({ ip: '::1', city: '' }))).toBeNull();
  });

  it('binary-searches many ranges (inclusive ends, gaps miss)', () => {
    const divdata = Array.from({ length: 1000 }, (_, i) => ({
      range: { start: i * 100, end: i * 100 + 49 },
      upstream: `u${i}`,
    })).reverse();
    const m = compilePolicyGroup([{ divtype: 'uidrange', divdata }]);
    for (let i = 0; i < 1000; i += 37) {
      expect(m(req({ uid: String(i * 100) }))?.upstream).toBe(`u${i}`);
      expect(m(req({ uid: String(i * 100 + 49) }))?.upstream).toBe(`u${i}`);
      expect(m(req({ uid: String(i * 100 + 50) }))).toBeNull();
    }
    expect(m(req({ uid: '-1' }))).toBeNull();
  });

  it('match: AND within an entry, operators, absent features', () => {
    const m = compilePolicyGroup([
      {
        divtype: 'match',
        divdata: [
          {
            when: [
              { feature: { from: 'header', name: 'x-app' }, op: 'in', value: ['ios', 'android'] },
              { feature: { from: 'query', name: 'v' }, op: 'gte', value: 3 },
            ],
            upstream: 'new',
          },
          { when: [{ feature: { from: 'path' }, op: 'regex', value: '^/api/v\\d+/' }], upstream: 'api' },
          { when: [{ feature: { from: 'header', name: 'x-beta' }, op: 'exists' }], upstream: 'beta' },
        ],
      },
    ]);
    expect(m(req({ url: '/?v=3', hdr: { 'x-app': 'ios' } }))?.upstream).toBe('new');
    expect(m(req({ url: '/?v=2', hdr: { 'x-app': 'ios' } }))).toBeNull();
    expect(m(req({ url: '/api/v2/x?v=9' }))?.upstream).toBe('api');
    expect(m(req({ hdr: { 'x-beta': '1' } }))?.upstream).toBe('beta');
  });
});

function keys(n: number): string[] {
  let x = 0x9e3779b9;
  return Array.from({ length: n }, (_, i) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return `user-${(x >>> 0).toString(36)}-${i}`;
  });
}

describe('sticky splits', () => {
  const N = 100_000;
  const ks = keys(N);

  it('percentage uses bucketOf(salt, key) and is sticky', () => {
    const m = compilePolicyGroup([
      { divtype: 'percentage', divdata: { key: { from: 'uid' }, salt: 'exp1', percent: 12.5, upstream: 'canary' } },
    ]);
    let hit = 0;
    for (const k of ks) {
      const a = m(req({ uid: k }));
      expect(m(req({ uid: k }))).toEqual(a);
      expect(a !== null).toBe(bucketOf('exp1', k) < 1250);
      if (a !== null) hit++;
    }
    expect(Math.abs(hit / N - 0.125)).toBeLessThan(0.01);
  });

  it('weighted split is sticky and within ±1% of the weights on 100k keys', () => {
    const splits = [
      { upstream: 'a', weight: 50 },
      { upstream: 'b', weight: 30 },
      { upstream: 'c', weight: 20 },
      { upstream: 'z', weight: 0 },
    ];
    const m = compilePolicyGroup([
      { divtype: 'weighted', divdata: { key: { from: 'header', name: 'x-device' }, salt: 'w1', splits } },
    ]);
    const counts = new Map<string, number>();
    for (const k of ks) {
      const r = m(req({ hdr: { 'x-device': k } }));
      expect(r).not.toBeNull();
      expect(m(req({ hdr: { 'x-device': k } }))).toEqual(r);
      counts.set(r!.upstream, (counts.get(r!.upstream) ?? 0) + 1);
    }
    expect(counts.get('z')).toBeUndefined();
    for (const s of splits) expect(Math.abs((counts.get(s.upstream) ?? 0) / N - s.weight / 100)).toBeLessThan(0.01);
    expect(weightedBounds(splits).bounds).toEqual([5000, 8000, 10000, 10000]);
  });
});

describe('validatePolicy', () => {
  const reasons = (t: unknown, d: unknown) => validatePolicy(t, d).map((i) => i.reason);
  it('reports the reference error semantics', () => {
    expect(reasons('nope', [])).toEqual(['unknown_divtype']);
    expect(reasons(undefined, [])).toEqual(['missing_divtype']);
    expect(reasons('uidrange', [{ range: { start: 1, end: 10 }, upstream: 'a' }, { range: { start: 10, end: 20 }, upstream: 'b' }])).toEqual(['ranges_overlap']);
    expect(reasons('uidrange', [{ range: { start: 5, end: 1 }, upstream: 'a' }])).toEqual(['range_start_after_end']);
    expect(reasons('iprange', [{ range: { start: '1', end: 2 }, upstream: 'a' }])).toEqual(['range_not_number']);
    expect(reasons('uidappoint', [{ uidset: ['12', 'x'], upstream: 'a' }])).toEqual(['uid_not_numeric']);
    expect(reasons('uidappoint', [{ uidset: [223456789012345678], upstream: 'a' }])).toEqual(['uid_unsafe_number']);
    expect(reasons('uidsuffix', [])).toEqual(['empty_divdata']); // a warning only (ADM-16)
    expect(validatePolicy('uidsuffix', [])[0]?.severity).toBe('warning');
    expect(reasons('weighted', { key: { from: 'uid' }, salt: 's', splits: [{ upstream: 'a', weight: 0 }] })).toEqual(['weight_invalid']);
    expect(reasons('match', [{ when: [{ feature: { from: 'uid' }, op: 'regex', value: '(' }], upstream: 'a' }])).toEqual(['regex_invalid']);
  });
});
