/**
 * The patch container (FORMAT.md): magic, version, kind, the two content hashes, file count and
 * size, a section table, the sections (each stored or raw-deflated), and a checksum over
 * everything before it.
 */
import { deflateSync, inflateSync } from 'fflate';
import { hexToBytes, bytesToHex } from '@noble/hashes/utils.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { ByteReader, ByteWriter } from './byte-io.js';
import { corrupt, DeltaError } from './delta-error.js';

/** "HTDL" */
const MAGIC = [0x48, 0x54, 0x44, 0x4c] as const;
export const FORMAT_VERSION = 1;
const CHECKSUM_SIZE = 8;
/** Largest raw section (the format's and typed arrays' practical limit). */
export const MAX_SIZE = 0x7fffffff;

/** What the patch rebuilds: a package (file list + manifest) or a single buffer. */
export enum PatchKind {
  Package = 0,
  Buffer = 1,
}

enum Codec {
  Stored = 0,
  Deflate = 1,
}

/** The sections, in order. `manifest` is empty for buffer patches. */
export interface PatchSections {
  readonly manifest: Uint8Array;
  readonly ctrl: Uint8Array;
  readonly gaps: Uint8Array;
  readonly lens: Uint8Array;
  readonly diff: Uint8Array;
  readonly extra: Uint8Array;
}
const SECTION_NAMES = ['manifest', 'ctrl', 'gaps', 'lens', 'diff', 'extra'] as const;

export interface PatchHeader {
  readonly kind: PatchKind;
  readonly formatVersion: number;
  readonly baseHash: string;
  readonly targetHash: string;
  readonly fileCount: number;
  readonly targetSize: number;
}

interface SectionEntry {
  readonly codec: number;
  readonly rawSize: number;
  readonly storedSize: number;
  readonly offset: number;
}

/** Assembles a patch; each section is deflated at `level` when that makes it smaller. */
export function writePatch(header: Omit<PatchHeader, 'formatVersion'>, sections: PatchSections, level: number): Uint8Array {
  const w = new ByteWriter(4096);
  for (const b of MAGIC) w.byte(b);
  w.byte(FORMAT_VERSION);
  w.byte(header.kind);
  w.bytes(hexToBytes(header.baseHash));
  w.bytes(hexToBytes(header.targetHash));
  w.uint(header.fileCount);
  w.uint(header.targetSize);
  const stored: Uint8Array[] = [];
  for (const name of SECTION_NAMES) {
    const raw = sections[name];
    let codec = Codec.Stored;
    let bytes = raw;
    if (raw.length > 0 && level > 0) {
      const packed = deflateSync(raw, { level: level as 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 });
      if (packed.length < raw.length) {
        codec = Codec.Deflate;
        bytes = packed;
      }
    }
    w.byte(codec);
    w.uint(raw.length);
    w.uint(bytes.length);
    stored.push(bytes);
  }
  for (const s of stored) w.bytes(s);
  const body = w.finish();
  const out = new Uint8Array(body.length + CHECKSUM_SIZE);
  out.set(body);
  out.set(sha256(body).subarray(0, CHECKSUM_SIZE), body.length);
  return out;
}

/** Parses and checksums a patch; sections are located but not decompressed. */
export function readPatch(patch: Uint8Array): { header: PatchHeader; entries: SectionEntry[]; patch: Uint8Array } {
  if (!(patch instanceof Uint8Array)) throw new TypeError('patch must be a Uint8Array');
  if (patch.length < MAGIC.length + 2 + 64 + CHECKSUM_SIZE) throw corrupt('too short');
  for (let i = 0; i < MAGIC.length; i++) {
    if (patch[i] !== MAGIC[i]) throw corrupt('not a Halftone delta (bad magic)');
  }
  const bodyEnd = patch.length - CHECKSUM_SIZE;
  const sum = sha256(patch.subarray(0, bodyEnd));
  for (let i = 0; i < CHECKSUM_SIZE; i++) {
    if (sum[i] !== patch[bodyEnd + i]) throw corrupt('checksum mismatch (truncated or damaged)');
  }
  const r = new ByteReader(patch, MAGIC.length, bodyEnd);
  const formatVersion = r.byte();
  if (formatVersion !== FORMAT_VERSION) throw corrupt(`unsupported format version ${formatVersion}`);
  const kind = r.byte();
  if (kind !== PatchKind.Package && kind !== PatchKind.Buffer) throw corrupt(`unknown patch kind ${kind}`);
  const baseHash = bytesToHex(r.bytes(32));
  const targetHash = bytesToHex(r.bytes(32));
  const fileCount = r.uint();
  const targetSize = r.uint();
  const entries: SectionEntry[] = [];
  const sizes: { codec: number; rawSize: number; storedSize: number }[] = [];
  for (let i = 0; i < SECTION_NAMES.length; i++) {
    const codec = r.byte();
    const rawSize = r.uint();
    const storedSize = r.uint();
    if (codec !== Codec.Stored && codec !== Codec.Deflate) throw corrupt(`unknown section codec ${codec}`);
    if (rawSize > MAX_SIZE || (codec === Codec.Stored && rawSize !== storedSize)) throw corrupt('bad section size');
    // Deflate expands at most ~1032:1; a larger claim is a decompression bomb.
    if (codec === Codec.Deflate && rawSize > storedSize * 1032 + 1024) throw corrupt('bad section size');
    sizes.push({ codec, rawSize, storedSize });
  }
  let offset = r.pos;
  for (const s of sizes) {
    entries.push({ ...s, offset });
    offset += s.storedSize;
  }
  if (offset !== bodyEnd) throw corrupt('section table does not match the patch size');
  if (kind === PatchKind.Buffer && (fileCount !== 1 || entries[0]!.rawSize !== 0)) throw corrupt('bad buffer patch');
  return { header: { kind, formatVersion, baseHash, targetHash, fileCount, targetSize }, entries, patch };
}

/** Decompresses every section of a patch {@link readPatch} accepted. */
export function readSections(parsed: { entries: SectionEntry[]; patch: Uint8Array }): PatchSections {
  const out: Uint8Array[] = [];
  for (const e of parsed.entries) {
    const stored = parsed.patch.subarray(e.offset, e.offset + e.storedSize);
    if (e.codec === Codec.Stored) {
      out.push(stored);
      continue;
    }
    let raw: Uint8Array;
    try {
      // One spare byte: fflate truncates to the buffer, so a longer stream shows as rawSize + 1.
      raw = inflateSync(stored, { out: new Uint8Array(e.rawSize + 1) });
    } catch (err) {
      if (err instanceof DeltaError) throw err;
      throw corrupt('a section does not inflate');
    }
    if (raw.length !== e.rawSize) throw corrupt('a section inflates to the wrong size');
    out.push(raw);
  }
  const [manifest, ctrl, gaps, lens, diff, extra] = out as [Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array];
  return { manifest, ctrl, gaps, lens, diff, extra };
}
