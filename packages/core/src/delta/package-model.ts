/**
 * What both sides of a package delta derive identically from a file list: normalized paths,
 * hashes, the content hash, and the old reference (FORMAT.md, "The old reference").
 */
import { isContentExcluded, packageContentHash, sha256Hex } from '../content-hash.js';
import type { OldSource } from './diff-codec.js';

/**
 * One file of a package: its `/`-separated relative path (a `\` is read as `/`) and its bytes.
 *
 * @example
 * const f: PackageFile = { path: 'assets/logo.png', data: pngBytes };
 */
export interface PackageFile {
  readonly path: string;
  readonly data: Uint8Array;
}

/**
 * Computes the hex SHA-256 of some bytes (a faster platform implementation can be passed in).
 *
 * @example
 * import { createHash } from 'node:crypto';
 * const nodeSha256: Sha256Hex = (d) => createHash('sha256').update(d).digest('hex');
 */
export type Sha256Hex = (data: Uint8Array) => string;

/** A file with its normalized path, hash and whether the content hash leaves it out. */
export interface HashedFile {
  readonly path: string;
  readonly data: Uint8Array;
  readonly sha256: string;
  readonly excluded: boolean;
}

/** JS string order (UTF-16 code units), the order of every path list in the format. */
export function comparePaths(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const HEX64 = /^[0-9a-f]{64}$/;

/** Validates, normalizes (`\` → `/`) and hashes a file list. */
export function hashFiles(files: readonly PackageFile[], what: string, hash: Sha256Hex | undefined): HashedFile[] {
  if (!Array.isArray(files)) throw new TypeError(`${what} must be an array of { path, data }`);
  const out: HashedFile[] = [];
  for (const f of files) {
    if (f === null || typeof f !== 'object' || typeof f.path !== 'string' || !(f.data instanceof Uint8Array)) {
      throw new TypeError(`${what} must be an array of { path: string, data: Uint8Array }`);
    }
    const path = f.path.includes('\\') ? f.path.replace(/\\/g, '/') : f.path;
    const sha = hash ? hash(f.data).toLowerCase() : sha256Hex(f.data);
    if (!HEX64.test(sha)) throw new TypeError('the sha256 option must return 64 hex digits');
    out.push({ path, data: f.data, sha256: sha, excluded: isContentExcluded(path) });
  }
  return out;
}

/** The package content hash of hashed files (throws TypeError on duplicate paths). */
export function contentHashOf(files: readonly HashedFile[]): string {
  return packageContentHash(files.map((f) => ({ path: f.path, sha256: f.sha256 })));
}

/**
 * The old reference: the old files the content hash covers, in path order, each distinct
 * non-empty content once (at its first path), end to end.
 */
export class OldReference implements OldSource {
  /** Old files the content hash covers, by path. */
  readonly byPath = new Map<string, HashedFile>();
  /** First path (in path order) of each content hash among the covered old files. */
  readonly pathBySha = new Map<string, string>();
  /** Offset in the reference of each distinct non-empty content. */
  readonly offsetBySha = new Map<string, number>();
  readonly parts: Uint8Array[] = [];
  readonly starts: number[] = [];
  readonly size: number;
  private cursor = 0;

  constructor(files: readonly HashedFile[]) {
    const covered = files.filter((f) => !f.excluded).sort((a, b) => comparePaths(a.path, b.path));
    let size = 0;
    for (const f of covered) {
      this.byPath.set(f.path, f);
      if (!this.pathBySha.has(f.sha256)) this.pathBySha.set(f.sha256, f.path);
      if (f.data.length > 0 && !this.offsetBySha.has(f.sha256)) {
        this.offsetBySha.set(f.sha256, size);
        this.parts.push(f.data);
        this.starts.push(size);
        size += f.data.length;
      }
    }
    this.size = size;
  }

  /** The reference as one buffer (for the diff side). */
  concat(): Uint8Array {
    const out = new Uint8Array(this.size);
    for (let i = 0; i < this.parts.length; i++) out.set(this.parts[i]!, this.starts[i]!);
    return out;
  }

  copy(dst: Uint8Array, dstPos: number, oldPos: number, len: number): void {
    const starts = this.starts;
    let i = this.cursor;
    if (i >= starts.length || starts[i]! > oldPos || oldPos >= starts[i]! + this.parts[i]!.length) {
      let a = 0;
      let b = starts.length - 1;
      while (a < b) {
        const m = (a + b + 1) >>> 1;
        if (starts[m]! <= oldPos) a = m;
        else b = m - 1;
      }
      i = a;
    }
    while (len > 0) {
      const part = this.parts[i]!;
      const from = oldPos - starts[i]!;
      const k = Math.min(len, part.length - from);
      dst.set(part.subarray(from, from + k), dstPos);
      dstPos += k;
      oldPos += k;
      len -= k;
      if (from + k === part.length) i++;
    }
    this.cursor = i < starts.length ? i : starts.length - 1;
  }
}

/** An {@link OldSource} over one buffer. */
export function bufferSource(data: Uint8Array): OldSource {
  return {
    size: data.length,
    copy(dst, dstPos, oldPos, len) {
      dst.set(data.subarray(oldPos, oldPos + len), dstPos);
    },
  };
}
