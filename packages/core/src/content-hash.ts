/**
 * The identity of a package's content, defined once for the whole project. It is exactly
 * CodePush's package hash (`PackageManifest.computePackageHash` in microsoft/code-push), so
 * clients that already compute CodePush hashes agree with the server byte for byte:
 *
 *     sha256hex( JSON.stringify( sorted([ `${path}:${sha256hex(fileBytes)}`, … ]) ) )
 *
 * with `/`-separated relative paths, entries sorted by default JS string order (UTF-16 code
 * units), the JSON encoded as UTF-8, and the files in {@link isContentExcluded} left out.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { encodeUtf8 } from './utf8.js';

/**
 * One file of a package: its `/`-separated relative path and the hex SHA-256 of its bytes.
 *
 * @example
 * const f: ContentFile = { path: 'assets/logo.png', sha256: sha256Hex(pngBytes) };
 */
export interface ContentFile {
  readonly path: string;
  readonly sha256: string;
}

const SHA256_HEX_RE = /^[0-9a-fA-F]{64}$/;

/**
 * The lowercase hex SHA-256 of `bytes`. Pure JS (@noble/hashes), so it runs on Hermes too.
 *
 * @example
 * sha256Hex(new Uint8Array(0)); // 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
 */
export function sha256Hex(bytes: Uint8Array): string {
  return bytesToHex(sha256(bytes));
}

/**
 * Whether a file is left out of the content hash, as CodePush does: anything under `__MACOSX/`,
 * any `.DS_Store`, and the `.codepushrelease` signature file at any depth. Backslashes count as
 * `/`.
 *
 * @example
 * isContentExcluded('__MACOSX/index.js');           // true
 * isContentExcluded('assets/.DS_Store');            // true
 * isContentExcluded('bundle/.codepushrelease');     // true
 * isContentExcluded('index.android.bundle');        // false
 */
export function isContentExcluded(path: string): boolean {
  const p = path.includes('\\') ? path.replace(/\\/g, '/') : path;
  return (
    p.startsWith('__MACOSX/') ||
    p === '.DS_Store' ||
    p.endsWith('/.DS_Store') ||
    p === '.codepushrelease' ||
    p.endsWith('/.codepushrelease')
  );
}

/**
 * The package content hash (CodePush-compatible; see the module notes). Backslashes in paths
 * are turned into `/` and file hashes are lowercased before hashing, so the result does not
 * depend on the OS or hex case of whoever built the file list. Order of `files` is irrelevant.
 *
 * @throws {TypeError} when a `sha256` is not 64 hex digits, or two files share a path.
 * @example
 * packageContentHash([
 *   { path: 'index.android.bundle', sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' },
 *   { path: '__MACOSX/._index.android.bundle', sha256: '…' }, // excluded
 * ]); // 64 lowercase hex digits
 */
export function packageContentHash(files: readonly ContentFile[]): string {
  const entries: string[] = [];
  const seen = new Set<string>();
  for (const file of files) {
    const path = file.path.includes('\\') ? file.path.replace(/\\/g, '/') : file.path;
    if (!SHA256_HEX_RE.test(file.sha256)) {
      throw new TypeError(`file ${JSON.stringify(path)}: sha256 must be 64 hex digits`);
    }
    if (seen.has(path)) throw new TypeError(`duplicate file path ${JSON.stringify(path)}`);
    seen.add(path);
    if (isContentExcluded(path)) continue;
    entries.push(`${path}:${file.sha256.toLowerCase()}`);
  }
  entries.sort();
  return sha256Hex(encodeUtf8(JSON.stringify(entries)));
}
