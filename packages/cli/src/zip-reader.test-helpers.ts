import { inflateRawSync } from 'node:zlib';

/** One entry of a zip's central directory, with its inflated content. */
export interface ZipEntryInfo {
  readonly name: string;
  readonly flags: number;
  readonly method: number;
  readonly dosTime: number;
  readonly dosDate: number;
  readonly unixMode: number;
  readonly extraLength: number;
  readonly data: Buffer;
}

/**
 * Reads a zip (no comment, no zip64) through its central directory, the way unzip tools do. Only
 * for checking what the CLI produced.
 *
 * @example
 * readZipEntries(bytes).map((e) => e.name); // ['a.txt', 'dir/b.txt']
 */
export function readZipEntries(zip: Buffer): ZipEntryInfo[] {
  const end = zip.length - 22;
  if (zip.readUInt32LE(end) !== 0x06054b50) throw new Error('no end of central directory record');
  const count = zip.readUInt16LE(end + 10);
  let offset = zip.readUInt32LE(end + 16);
  const entries: ZipEntryInfo[] = [];
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(offset) !== 0x02014b50) throw new Error('bad central directory entry');
    const flags = zip.readUInt16LE(offset + 8);
    const method = zip.readUInt16LE(offset + 10);
    const dosTime = zip.readUInt16LE(offset + 12);
    const dosDate = zip.readUInt16LE(offset + 14);
    const compressedSize = zip.readUInt32LE(offset + 20);
    const nameLength = zip.readUInt16LE(offset + 28);
    const extraLength = zip.readUInt16LE(offset + 30);
    const commentLength = zip.readUInt16LE(offset + 32);
    const unixMode = zip.readUInt32LE(offset + 38) >>> 16;
    const local = zip.readUInt32LE(offset + 42);
    const name = zip.toString('utf8', offset + 46, offset + 46 + nameLength);
    const dataStart = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const raw = zip.subarray(dataStart, dataStart + compressedSize);
    const data = method === 8 ? inflateRawSync(raw) : Buffer.from(raw);
    entries.push({ name, flags, method, dosTime, dosDate, unixMode, extraLength, data });
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}
