import { gunzipSync } from 'node:zlib';
import { unsupportedMediaType } from '../../platform/errors/platform-errors.js';
import { EventsBatchTooLarge, EventsBodyInvalid, EventsEncodingUnsupported, EventsHeaderInvalid } from './events-errors.js';

/** An NDJSON line that is not JSON: reported back as an invalid item, the rest still counts. */
export class UnparseableLine {
  constructor(readonly message: string) {}
}

export interface DecodedBatch {
  readonly header: unknown;
  readonly items: readonly unknown[];
}

export interface DecodeLimits {
  /** Largest body, as sent and after decompression, in bytes. */
  readonly maxBytes: number;
  readonly maxItems: number;
}

function tooLarge(maxBytes: number, what: string) {
  return EventsBatchTooLarge({ limit: `${maxBytes} bytes` }, {
    detail: `The ${what} exceeds ${maxBytes} bytes (HALFTONE_EVENTS_MAX_BATCH_BYTES); send smaller batches`,
  });
}

function tooManyItems(n: number, maxItems: number) {
  return EventsBatchTooLarge({ limit: `${maxItems} items` }, {
    detail: `The batch has ${n} items; at most ${maxItems} are accepted (HALFTONE_EVENTS_MAX_BATCH_ITEMS)`,
  });
}

/** Decompresses a body per its Content-Encoding, capping the output (a gzip bomb gets 413). */
export function decompress(body: Buffer, encoding: string | undefined, maxBytes: number): Buffer {
  const enc = (encoding ?? '').trim().toLowerCase();
  if (enc === '' || enc === 'identity') return body;
  if (enc !== 'gzip' && enc !== 'x-gzip') throw EventsEncodingUnsupported({ encoding: enc.slice(0, 40) });
  try {
    return gunzipSync(body, { maxOutputLength: maxBytes });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
      throw tooLarge(maxBytes, 'decompressed batch');
    }
    throw EventsBodyInvalid(undefined, { detail: 'The gzip stream is corrupt or truncated', cause: err });
  }
}

function isNdjson(contentType: string): boolean {
  return (
    contentType.startsWith('application/x-ndjson') ||
    contentType.startsWith('application/ndjson') ||
    contentType.startsWith('application/jsonl') ||
    contentType.startsWith('application/x-jsonlines')
  );
}

/**
 * Reads an event batch: `application/json` `{ header, items: [...] }`, or NDJSON (first line the
 * header, then one item per line; blank lines ignored), optionally gzip-compressed.
 */
export function decodeBatch(
  body: Buffer | undefined,
  contentType: string | undefined,
  encoding: string | undefined,
  limits: DecodeLimits,
): DecodedBatch {
  if (body === undefined || body.length === 0) throw EventsBodyInvalid(undefined, { detail: 'The body is empty' });
  if (body.length > limits.maxBytes) throw tooLarge(limits.maxBytes, 'batch');
  const text = decompress(body, encoding, limits.maxBytes).toString('utf8');
  const type = (contentType ?? '').toLowerCase();
  if (isNdjson(type)) {
    const lines = text.split('\n');
    let header: unknown;
    let sawHeader = false;
    const items: unknown[] = [];
    for (const raw of lines) {
      const line = raw.trim();
      if (line === '') continue;
      if (!sawHeader) {
        sawHeader = true;
        try {
          header = JSON.parse(line);
        } catch {
          throw EventsHeaderInvalid(undefined, { detail: 'The first NDJSON line (the header) is not JSON' });
        }
        continue;
      }
      if (items.length === limits.maxItems) throw tooManyItems(lines.length - 1, limits.maxItems);
      try {
        items.push(JSON.parse(line));
      } catch {
        items.push(new UnparseableLine('the line is not JSON'));
      }
    }
    if (!sawHeader) throw EventsBodyInvalid(undefined, { detail: 'The body has no header line' });
    return { header, items };
  }
  if (type.startsWith('application/json') || type === '') {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      throw EventsBodyInvalid(undefined, { detail: 'The body is not JSON (send {"header":…,"items":[…]} or NDJSON)' });
    }
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
      throw EventsBodyInvalid(undefined, { detail: 'The body must be an object {"header":…,"items":[…]}' });
    }
    const { header, items } = doc as { header?: unknown; items?: unknown };
    if (header === undefined) throw EventsHeaderInvalid(undefined, { detail: '/header is required' });
    if (!Array.isArray(items)) throw EventsBodyInvalid(undefined, { detail: '/items must be an array' });
    if (items.length > limits.maxItems) throw tooManyItems(items.length, limits.maxItems);
    return { header, items };
  }
  throw unsupportedMediaType(undefined, {
    detail: 'Send application/json ({"header":…,"items":[…]}) or application/x-ndjson',
  });
}
