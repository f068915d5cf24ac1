import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isContentExcluded, packageContentHash, sha256Hex } from './content-hash.js';

const nodeSha256 = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');

/** CodePush's algorithm, written out independently with node:crypto as the oracle. */
function codePushHash(files: Record<string, string>): string {
  const entries = Object.entries(files)
    .filter(([p]) => !isCodePushIgnored(p))
    .map(([p, content]) => `${p}:${nodeSha256(Buffer.from(content, 'utf8'))}`)
    .sort();
  return nodeSha256(JSON.stringify(entries));
}
function isCodePushIgnored(p: string): boolean {
  return (
    p.startsWith('__MACOSX/') ||
    p === '.DS_Store' ||
    p.endsWith('/.DS_Store') ||
    p === '.codepushrelease' ||
    p.endsWith('/.codepushrelease')
  );
}
const manifest = (files: Record<string, string>) =>
  Object.entries(files).map(([path, content]) => ({
    path,
    sha256: nodeSha256(Buffer.from(content, 'utf8')),
  }));

const bundle: Record<string, string> = {
  'index.android.bundle': 'console.log("hello");\n',
  'assets/img/logo.png': '\u0089PNG fake',
  'assets/Z-upper.json': '{}',
  'assets/a-lower.json': '[]',
  'assets/字体/字.ttf': 'font',
  'assets/émoji 🚀.txt': 'rocket',
  '__MACOSX/._index.android.bundle': 'resource fork',
  '.DS_Store': 'x',
  'assets/.DS_Store': 'x',
  '.codepushrelease': 'jwt',
  'sub/.codepushrelease': 'jwt',
  'assets/not.DS_Store.txt': 'kept',
  'x__MACOSX/kept.js': 'kept',
};

describe('sha256Hex', () => {
  it('matches node:crypto', () => {
    expect(sha256Hex(new Uint8Array(0))).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
    const bytes = new Uint8Array(1000).map((_, i) => (i * 31) & 0xff);
    expect(sha256Hex(bytes)).toBe(nodeSha256(bytes));
  });
});

describe('packageContentHash', () => {
  it('equals the CodePush package hash computed independently', () => {
    const want = codePushHash(bundle);
    expect(packageContentHash(manifest(bundle))).toBe(want);
    expect(want).toMatch(/^[0-9a-f]{64}$/);
  });

  it('pins a hand-checkable vector', () => {
    const emptyHash = nodeSha256('');
    const files = [
      { path: 'b.js', sha256: emptyHash },
      { path: 'a.js', sha256: emptyHash },
    ];
    const json = JSON.stringify([`a.js:${emptyHash}`, `b.js:${emptyHash}`]);
    expect(packageContentHash(files)).toBe(nodeSha256(json));
    expect(packageContentHash([])).toBe(nodeSha256('[]'));
  });

  it('sorts by JS string order (uppercase before lowercase), independent of input order', () => {
    const files = manifest(bundle);
    const reversed = [...files].reverse();
    expect(packageContentHash(reversed)).toBe(packageContentHash(files));
  });

  it('ignores excluded files entirely', () => {
    const kept = Object.fromEntries(Object.entries(bundle).filter(([p]) => !isCodePushIgnored(p)));
    expect(packageContentHash(manifest(kept))).toBe(packageContentHash(manifest(bundle)));
  });

  it('changes when any kept file changes', () => {
    const changed = { ...bundle, 'assets/a-lower.json': '[1]' };
    expect(packageContentHash(manifest(changed))).not.toBe(packageContentHash(manifest(bundle)));
  });

  it('normalizes backslashes and hex case', () => {
    const files = manifest({ 'assets/a.json': '1' });
    const windows = files.map((f) => ({ path: f.path.replace('/', '\\'), sha256: f.sha256.toUpperCase() }));
    expect(packageContentHash(windows)).toBe(packageContentHash(files));
    expect(packageContentHash([{ path: '__MACOSX\\x', sha256: nodeSha256('') }])).toBe(
      packageContentHash([]),
    );
  });

  it('rejects malformed hashes and duplicate paths', () => {
    expect(() => packageContentHash([{ path: 'a', sha256: 'abc' }])).toThrow(/64 hex digits/);
    expect(() => packageContentHash([{ path: 'a', sha256: 'g'.repeat(64) }])).toThrow(TypeError);
    const h = nodeSha256('');
    expect(() =>
      packageContentHash([
        { path: 'a/b', sha256: h },
        { path: 'a\\b', sha256: h },
      ]),
    ).toThrow(/duplicate file path "a\/b"/);
  });
});

describe('isContentExcluded', () => {
  it.each([
    ['__MACOSX/a.js', true],
    ['__MACOSX/deep/._x', true],
    ['.DS_Store', true],
    ['a/b/.DS_Store', true],
    ['a\\.DS_Store', true],
    ['.codepushrelease', true],
    ['bundle/.codepushrelease', true],
    ['index.js', false],
    ['x/__MACOSX/a.js', false],
    ['.DS_Store.bak', false],
    ['a.codepushrelease', false],
    ['codepushrelease', false],
  ])('%j → %s', (p, want) => {
    expect(isContentExcluded(p)).toBe(want);
  });
});
