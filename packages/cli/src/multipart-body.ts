import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { StreamBody } from './api-client.js';

/** The file part of a multipart upload; its bytes are streamed from disk, never buffered. */
export interface MultipartFile {
  /** Form field name. */
  readonly field: string;
  /** Path on disk. */
  readonly path: string;
  /** File name announced to the server. */
  readonly filename: string;
  readonly contentType: string;
  /** Size in bytes (from `stat`), needed for Content-Length. */
  readonly size: number;
}

const CRLF = '\r\n';

// WHATWG HTML "multipart/form-data encoding algorithm": quotes and line breaks in names are
// percent-encoded, everything else goes as UTF-8.
function quote(value: string): string {
  return `"${value.replace(/"/g, '%22').replace(/\r/g, '%0D').replace(/\n/g, '%0A')}"`;
}

/**
 * Builds a `multipart/form-data` body (RFC 7578): the text `fields` in order, then the file part
 * last, so a server can validate the fields before the bytes arrive. The length is computed up
 * front, and `onFileBytes` is told how many file bytes have been handed to the connection.
 *
 * @example
 * const body = createMultipartBody([['module', 'home']], {
 *   field: 'file', path: '/tmp/home.zip', filename: 'home.zip',
 *   contentType: 'application/zip', size: 1234,
 * });
 * await api.send({ method: 'POST', path: '/admin/v1/apps/shop/packages', body });
 */
export function createMultipartBody(
  fields: readonly (readonly [string, string])[],
  file: MultipartFile,
  onFileBytes?: (sent: number) => void,
): StreamBody {
  const boundary = `----halftone-${randomBytes(16).toString('hex')}`;
  const disposition = (name: string, filename?: string) =>
    `Content-Disposition: form-data; name=${quote(name)}` +
    (filename === undefined ? '' : `; filename=${quote(filename)}`);
  const textParts = fields.map(
    ([name, value]) => `--${boundary}${CRLF}${disposition(name)}${CRLF}${CRLF}${value}${CRLF}`,
  );
  const fileHeader =
    `--${boundary}${CRLF}${disposition(file.field, file.filename)}${CRLF}` +
    `Content-Type: ${file.contentType}${CRLF}${CRLF}`;
  const head = Buffer.from(textParts.join('') + fileHeader, 'utf8');
  const tail = Buffer.from(`${CRLF}--${boundary}--${CRLF}`, 'utf8');

  async function* parts(): AsyncGenerator<Buffer> {
    yield head;
    let sent = 0;
    for await (const chunk of createReadStream(file.path)) {
      const bytes = chunk as Buffer;
      yield bytes;
      sent += bytes.length;
      onFileBytes?.(sent);
    }
    yield tail;
  }

  return {
    stream: Readable.from(parts(), { objectMode: false }),
    contentType: `multipart/form-data; boundary=${boundary}`,
    contentLength: head.length + file.size + tail.length,
  };
}
