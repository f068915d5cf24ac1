import { describe, expect, it } from 'vitest';
import {
  compareParsed,
  compareVersions,
  isValidVersion,
  MAX_VERSION_LENGTH,
  type ParsedVersion,
  parseVersion,
  versionInRange,
} from './version.js';

describe('parseVersion', () => {
  it('parses 1 to 5 numeric segments, padding with zeros', () => {
    expect(parseVersion('8')?.segments).toEqual([8, 0, 0, 0, 0]);
    expect(parseVersion('8.3.1.20')?.segments).toEqual([8, 3, 1, 20, 0]);
    expect(parseVersion('1.2.3.4.5')?.segments).toEqual([1, 2, 3, 4, 5]);
    expect(parseVersion('999999999.0')?.segments).toEqual([999999999, 0, 0, 0, 0]);
  });

  it('accepts leading zeros', () => {
    expect(parseVersion('08.010')?.segments).toEqual([8, 10, 0, 0, 0]);
  });

  it('splits pre-release and build metadata', () => {
    const v = parseVersion('8.3.1-beta.2.x-y+build.7-a') as ParsedVersion;
    expect(v.source).toBe('8.3.1-beta.2.x-y+build.7-a');
    expect(v.prerelease).toEqual(['beta', 2, 'x-y']);
    expect(v.build).toBe('build.7-a');
    expect(parseVersion('1.0+exp-sha.5')?.prerelease).toEqual([]);
    expect(parseVersion('1.0+exp-sha.5')?.build).toBe('exp-sha.5');
    expect(parseVersion('1.0-007')?.prerelease).toEqual([7]);
  });

  it.each([
    '',
    'v1.0',
    'V1',
    ' 1.0',
    '1.0 ',
    '1.',
    '.1',
    '1..2',
    '1.2.3.4.5.6',
    '1234567890',
    '1.1234567890',
    '1.0-',
    '1.0-beta..1',
    '1.0-beta_1',
    '1.0-é',
    '1.0+',
    '1.0+a..b',
    '1.0+a+b',
    '1.0-1234567890123456',
    '-1.0',
    '1.x',
    '1.2a',
    '١.٢',
    `1.0-${'a'.repeat(MAX_VERSION_LENGTH)}`,
  ])('rejects %j', (s) => {
    expect(parseVersion(s)).toBeNull();
    expect(isValidVersion(s)).toBe(false);
  });

  it('rejects non-strings without throwing', () => {
    expect(parseVersion(1 as unknown as string)).toBeNull();
    expect(isValidVersion(1)).toBe(false);
    expect(isValidVersion(null)).toBe(false);
  });

  it('returns frozen, cached results', () => {
    const a = parseVersion('7.7.7-rc.1');
    expect(a).not.toBeNull();
    expect(parseVersion('7.7.7-rc.1')).toBe(a);
    expect(Object.isFrozen(a)).toBe(true);
    expect(Object.isFrozen(a?.segments)).toBe(true);
    expect(Object.isFrozen(a?.prerelease)).toBe(true);
  });

  it('keeps the cache bounded and still correct after eviction', () => {
    const first = parseVersion('3.0.0.0.1');
    for (let i = 0; i < 5000; i++) parseVersion(`1.${i}`);
    const again = parseVersion('3.0.0.0.1');
    expect(again).toEqual(first);
    expect(compareVersions('1.4999', '1.5000')).toBe(-1);
  });
});

describe('compareVersions', () => {
  it.each([
    ['8.3.1', '8.3.1.0', 0],
    ['8', '8.0.0.0.0', 0],
    ['08', '8', 0],
    ['1.10', '1.9', 1],
    ['1.2.3.4', '1.2.3.5', -1],
    ['1.2.3.4.5', '1.2.3.4.6', -1],
    ['2', '1.999999999', 1],
    ['1.0-beta', '1.0', -1],
    ['1.0', '1.0-beta', 1],
    ['1.0-alpha', '1.0-alpha.1', -1],
    ['1.0-alpha.1', '1.0-alpha.beta', -1],
    ['1.0-alpha.beta', '1.0-beta', -1],
    ['1.0-beta', '1.0-beta.2', -1],
    ['1.0-beta.2', '1.0-beta.11', -1],
    ['1.0-beta.11', '1.0-rc.1', -1],
    ['1.0-rc.1', '1.0', -1],
    ['1.0-1', '1.0-a', -1],
    ['1.0-a', '1.0-1', 1],
    ['1.0-B', '1.0-a', -1],
    ['1.0-beta.01', '1.0-beta.1', 0],
    ['1.0-rc.1', '1.0-rc.1', 0],
    ['1.0+a', '1.0+b', 0],
    ['1.0-rc+a', '1.0-rc', 0],
    ['1.0-rc.1', '0.9', 1],
  ] as const)('%s vs %s → %d', (a, b, want) => {
    expect(compareVersions(a, b)).toBe(want);
    expect(compareVersions(b, a)).toBe(-want || 0);
  });

  it('orders the SemVer §11 example chain', () => {
    const chain = [
      '1.0.0-alpha',
      '1.0.0-alpha.1',
      '1.0.0-alpha.beta',
      '1.0.0-beta',
      '1.0.0-beta.2',
      '1.0.0-beta.11',
      '1.0.0-rc.1',
      '1.0.0',
      '1.0.0.1',
      '1.0.1',
    ];
    const shuffled = [...chain].reverse();
    expect(shuffled.sort(compareVersions)).toEqual(chain);
  });

  it('throws TypeError on invalid input', () => {
    expect(() => compareVersions('v1', '1')).toThrow(TypeError);
    expect(() => compareVersions('1', '')).toThrow(/b is not a valid version/);
  });

  it('compareParsed agrees and is reflexive on the same object', () => {
    const a = parseVersion('2.0-rc.1') as ParsedVersion;
    const b = parseVersion('2.0') as ParsedVersion;
    expect(compareParsed(a, a)).toBe(0);
    expect(compareParsed(a, b)).toBe(-1);
    expect(compareParsed(b, a)).toBe(1);
  });

  it('is a total order: antisymmetric and transitive on random versions', () => {
    let seed = 7;
    const rnd = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const ids = ['alpha', 'beta', 'rc', '1', '2', '10', 'a-b'];
    const versions: string[] = [];
    for (let i = 0; i < 300; i++) {
      const segs = Array.from({ length: 1 + rnd(5) }, () => String(rnd(3)));
      let v = segs.join('.');
      if (rnd(3) === 0) {
        v += `-${Array.from({ length: 1 + rnd(3) }, () => ids[rnd(ids.length)]).join('.')}`;
      }
      if (rnd(5) === 0) v += '+b.1';
      versions.push(v);
    }
    const sorted = [...versions].sort(compareVersions);
    for (let i = 0; i + 1 < sorted.length; i++) {
      expect(compareVersions(sorted[i] as string, sorted[i + 1] as string)).toBeLessThanOrEqual(0);
    }
    for (const a of versions.slice(0, 60)) {
      for (const b of versions.slice(0, 60)) {
        expect(compareVersions(a, b)).toBe(-compareVersions(b, a) || 0);
      }
    }
  });
});

describe('versionInRange', () => {
  it('is inclusive at both ends', () => {
    expect(versionInRange('8.0', '8.0', '8.4')).toBe(true);
    expect(versionInRange('8.4.0.0', '8.0', '8.4')).toBe(true);
    expect(versionInRange('8.4.0.1', '8.0', '8.4')).toBe(false);
    expect(versionInRange('7.99', '8.0', '8.4')).toBe(false);
  });

  it('treats a pre-release of min as below min', () => {
    expect(versionInRange('8.0-rc.1', '8.0', '8.4')).toBe(false);
    expect(versionInRange('8.4-rc.1', '8.0', '8.4')).toBe(true);
  });

  it('leaves omitted or empty ends open', () => {
    expect(versionInRange('1.0')).toBe(true);
    expect(versionInRange('100.0', '8.0')).toBe(true);
    expect(versionInRange('0.1', undefined, '8.0')).toBe(true);
    expect(versionInRange('0.1', '', '')).toBe(true);
    expect(versionInRange('9', '8.0', '')).toBe(true);
  });

  it('is false for an invalid version and throws for invalid bounds', () => {
    expect(versionInRange('garbage', '1.0', '2.0')).toBe(false);
    expect(versionInRange('', '', '')).toBe(false);
    expect(() => versionInRange('1.0', 'v1')).toThrow(/min is not a valid version/);
    expect(() => versionInRange('1.0', '1.0', 'x')).toThrow(TypeError);
  });
});
