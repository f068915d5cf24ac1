import { crc32, deflateRawSync } from 'node:zlib';
import yazl from 'yazl';

/**
 * Writes zip files byte by byte, for tests that need archives no well-behaved zip library will
 * produce (`../evil`, symlinks, lying sizes, duplicates). Layout per APPNOTE.TXT 6.3.10:
 * local file headers with their data, then the central directory, then the end record.
 */
export interface RawZipEntry {
  /** Entry name, written as is (UTF-8 flag set when it is a string). */
  readonly name: string | Buffer;
  /** Inflated content; defaults to empty. */
  readonly data?: Buffer;
  /** 0 = stored, 8 = deflated (default). */
  readonly method?: 0 | 8;
  /** Unix mode (type and permission bits) put in the high 16 bits of the external attributes. */
  readonly mode?: number;
  /** Extra general-purpose flag bits, e.g. 0x1 for "encrypted". */
  readonly flags?: number;
  /** Overrides the uncompressed size written in the headers (to make an entry lie). */
  readonly declaredSize?: number;
  /** Precomputed data for big entries: the compressed bytes plus the real size and CRC. */
  readonly precompressed?: { readonly bytes: Buffer; readonly size: number; readonly crc: number };
}

const UTF8_FLAG = 0x0800;
const DOS_DATE_1980_01_01 = (0 << 9) | (1 << 5) | 1;

/**
 * Builds the bytes of a zip file holding `entries`, in order.
 *
 * @example
 * const zip = buildRawZip([{ name: '../evil', data: Buffer.from('x') }]);
 */
export function buildRawZip(entries: readonly RawZipEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const name = typeof entry.name === 'string' ? Buffer.from(entry.name, 'utf8') : entry.name;
    const method = entry.method ?? 8;
    const data = entry.data ?? Buffer.alloc(0);
    const pre = entry.precompressed;
    const body = pre?.bytes ?? (method === 8 ? deflateRawSync(data) : data);
    const size = entry.declaredSize ?? pre?.size ?? data.length;
    const crc = pre?.crc ?? crc32(data);
    const flags = (typeof entry.name === 'string' ? UTF8_FLAG : 0) | (entry.flags ?? 0);

    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed to extract
    local.writeUInt16LE(flags, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(0, 10); // time 00:00
    local.writeUInt16LE(DOS_DATE_1980_01_01, 12);
    local.writeUInt32LE(crc >>> 0, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28); // extra field length
    locals.push(local, name, body);

    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4); // made by: unix, spec 2.0
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(flags, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt16LE(0, 12);
    central.writeUInt16LE(DOS_DATE_1980_01_01, 14);
    central.writeUInt32LE(crc >>> 0, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt16LE(0, 30); // extra field length
    central.writeUInt16LE(0, 32); // comment length
    central.writeUInt16LE(0, 34); // disk number
    central.writeUInt16LE(0, 36); // internal attributes
    central.writeUInt32LE(((entry.mode ?? 0o100644) << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name);

    offset += local.length + name.length + body.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(0, 4);
  end.writeUInt16LE(0, 6);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  end.writeUInt16LE(0, 20);
  return Buffer.concat([...locals, directory, end]);
}

/**
 * The classic zip bomb payload: `size` zero bytes, deflated (100 MiB deflates to about 100 KiB).
 */
export function deflatedZeros(size: number): { bytes: Buffer; size: number; crc: number } {
  const zeros = Buffer.alloc(size);
  return { bytes: deflateRawSync(zeros, { level: 9 }), size, crc: crc32(zeros) };
}

/**
 * Builds a well-formed zip with yazl (folders listed in `dirs` get a directory entry).
 *
 * @example
 * const zip = await buildYazlZip({ 'CodePush/index.android.bundle': Buffer.from('x') });
 */
export async function buildYazlZip(
  files: Readonly<Record<string, Buffer>>,
  dirs: readonly string[] = [],
): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const dir of dirs) zip.addEmptyDirectory(dir);
  for (const [path, data] of Object.entries(files)) zip.addBuffer(data, path);
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
