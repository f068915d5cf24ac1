/**
 * The manifest of a package patch (FORMAT.md, "Manifest"): which old paths are gone and how to
 * obtain every new file that is not simply an old file kept at its path with its content.
 */
import { corrupt } from './delta-error.js';

/** A new file rebuilt from the diff stream: the next `size` bytes of it. */
export interface DiffedEntry {
  readonly path: string;
  readonly size: number;
  /** A prefix (16 or 64 hex digits) of the file's SHA-256. */
  readonly sha256: string;
}
/** A new file whose content is that of the old file `same`. */
export interface SameEntry {
  readonly path: string;
  readonly same: string;
}
/** A new file whose content is that of the earlier (in path order) diffed new file `copy`. */
export interface CopyEntry {
  readonly path: string;
  readonly copy: string;
}
export type ManifestEntry = DiffedEntry | SameEntry | CopyEntry;

export interface Manifest {
  /** Old paths (covered by the content hash) that the new package does not have. */
  readonly deleted: readonly string[];
  /** In path order. */
  readonly files: readonly ManifestEntry[];
}

const HASH_PREFIX = /^(?:[0-9a-f]{16}|[0-9a-f]{64})$/;

function isString(v: unknown): v is string {
  return typeof v === 'string';
}

/** Parses and structurally validates a manifest. */
export function parseManifest(bytes: Uint8Array): Manifest {
  let json: unknown;
  try {
    json = JSON.parse(decodeAscii(bytes));
  } catch (e) {
    if (e instanceof Error && e.name === 'DeltaError') throw e;
    throw corrupt('manifest is not JSON');
  }
  if (json === null || typeof json !== 'object') throw corrupt('manifest is not an object');
  const { deleted, files } = json as { deleted?: unknown; files?: unknown };
  if (!Array.isArray(deleted) || !deleted.every(isString)) throw corrupt('manifest.deleted');
  if (!Array.isArray(files)) throw corrupt('manifest.files');
  const out: ManifestEntry[] = [];
  for (const e of files as unknown[]) {
    if (e === null || typeof e !== 'object') throw corrupt('manifest entry');
    const r = e as Record<string, unknown>;
    const keys = Object.keys(r).length;
    if (!isString(r.path) || r.path.length === 0) throw corrupt('manifest entry path');
    if (keys === 3 && Number.isSafeInteger(r.size) && (r.size as number) >= 0 && isString(r.sha256) && HASH_PREFIX.test(r.sha256)) {
      out.push({ path: r.path, size: r.size as number, sha256: r.sha256 });
    } else if (keys === 2 && isString(r.same)) {
      out.push({ path: r.path, same: r.same });
    } else if (keys === 2 && isString(r.copy)) {
      out.push({ path: r.path, copy: r.copy });
    } else {
      throw corrupt(`manifest entry for ${JSON.stringify(r.path)}`);
    }
  }
  return { deleted: deleted as string[], files: out };
}

/** JSON with every non-ASCII character escaped, so no UTF-8 codec is needed on any platform. */
export function encodeManifest(m: Manifest): Uint8Array {
  const json = JSON.stringify(m).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  const out = new Uint8Array(json.length);
  for (let i = 0; i < json.length; i++) out[i] = json.charCodeAt(i);
  return out;
}

function decodeAscii(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 8192) {
    const chunk = b.subarray(i, Math.min(b.length, i + 8192));
    for (const c of chunk) if (c > 0x7e) throw corrupt('manifest is not ASCII JSON');
    s += String.fromCharCode.apply(null, chunk as unknown as number[]);
  }
  return s;
}
