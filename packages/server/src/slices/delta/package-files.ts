import type { PackageFile } from '@halftone/core';
import yauzl from 'yauzl';

/**
 * The files of a stored package: the entries of a zip (directories skipped, paths as stored),
 * or one file for a raw package. Stored packages were inspected at publish (no traversal, no
 * symlinks, no bombs), so this only reads.
 *
 * @example
 * const files = await readPackageFiles(zipBytes, 'zip');
 */
export function readPackageFiles(bytes: Uint8Array, format: 'zip' | 'raw'): Promise<PackageFile[]> {
  if (format === 'raw') return Promise.resolve([{ path: '', data: bytes }]);
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { lazyEntries: true }, (err, zip) => {
      if (err || !zip) {
        reject(err ?? new Error('unreadable zip'));
        return;
      }
      const files: PackageFile[] = [];
      zip.on('error', reject);
      zip.on('end', () => resolve(files));
      zip.on('entry', (entry: yauzl.Entry) => {
        if (entry.fileName.endsWith('/')) {
          zip.readEntry();
          return;
        }
        zip.openReadStream(entry, (e, stream) => {
          if (e || !stream) {
            reject(e ?? new Error(`unreadable entry ${entry.fileName}`));
            return;
          }
          const chunks: Buffer[] = [];
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('error', reject);
          stream.on('end', () => {
            const data = Buffer.concat(chunks);
            files.push({ path: entry.fileName, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
            zip.readEntry();
          });
        });
      });
      zip.readEntry();
    });
  });
}
