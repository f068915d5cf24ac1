import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

// Crockford's base32 (no i, l, o, u), lower case: unambiguous to read aloud and URL-safe.
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
const TIME_CHARS = 10; // 48-bit millisecond timestamp (good until the year 10889)
const RANDOM_BYTES = 10; // 80 bits → 16 characters
const MAX_TIME = 2 ** 48 - 1;
const PREFIX = /^[a-z][a-z0-9]{0,15}$/;
const BODY = '[0-7][0-9a-hjkmnp-tv-z]{25}';

let lastTime = -1;
let lastRandom = new Uint8Array(RANDOM_BYTES);

function encodeTime(ms: number): string {
  let out = '';
  for (let i = 0, rest = ms; i < TIME_CHARS; i++, rest = Math.floor(rest / 32)) {
    out = ALPHABET.charAt(rest % 32) + out;
  }
  return out;
}

function encodeRandom(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += ALPHABET.charAt((buffer >> bits) & 31);
    }
    buffer &= (1 << bits) - 1;
  }
  return out;
}

/** Adds one to a big-endian number in place; returns false on overflow. */
function increment(bytes: Uint8Array): boolean {
  for (let i = bytes.length - 1; i >= 0; i--) {
    const next = (bytes[i] ?? 0) + 1;
    bytes[i] = next & 0xff;
    if (next <= 0xff) return true;
  }
  return false;
}

/**
 * A new time-sortable id: `<prefix>_` + 26 Crockford base32 characters (a 48-bit millisecond
 * timestamp, then 80 random bits, as in ULID). Ids made by one process sort in creation order,
 * also within one millisecond (the random part is incremented, as in monotonic ULIDs); ids from
 * different processes sort by time to the millisecond. If the clock goes back (or `now` is
 * earlier than the previous id's time), the previous time is kept, so order never breaks.
 *
 * @param prefix what the id names, lower-case alphanumeric, e.g. `rel`, `app`, `req`
 * @param now the timestamp to use (milliseconds since the epoch); defaults to `Date.now()`
 * @example
 * newId('rel'); // 'rel_01jz3k8m2q7w5c0v4x9b6n1r2t'
 */
export function newId(prefix: string, now: number = Date.now()): string {
  if (!PREFIX.test(prefix)) throw new TypeError(`Invalid id prefix ${JSON.stringify(prefix)}`);
  if (!Number.isInteger(now) || now < 0 || now > MAX_TIME) {
    throw new RangeError(`Invalid id timestamp ${now}`);
  }
  if (now <= lastTime) {
    if (!increment(lastRandom)) {
      lastTime = Math.min(lastTime + 1, MAX_TIME);
      lastRandom = new Uint8Array(randomBytes(RANDOM_BYTES));
    }
  } else {
    lastTime = now;
    lastRandom = new Uint8Array(randomBytes(RANDOM_BYTES));
  }
  return `${prefix}_${encodeTime(lastTime)}${encodeRandom(lastRandom)}`;
}

/**
 * `true` when `value` has the shape {@link newId} produces, with `prefix` if given.
 *
 * @example
 * isId('rel_01jz3k8m2q7w5c0v4x9b6n1r2t', 'rel'); // true
 */
export function isId(value: string, prefix?: string): boolean {
  if (prefix !== undefined && !PREFIX.test(prefix)) return false;
  const head = prefix ?? '[a-z][a-z0-9]{0,15}';
  return new RegExp(`^${head}_${BODY}$`).test(value);
}

/**
 * A new secret (API token, client key): `prefix` + 32 random bytes in base64url (43
 * characters). The prefix makes leaked secrets recognisable (secret scanners, logs).
 *
 * @example
 * generateSecret('hat_'); // 'hat_Jx3…' (47 characters)
 */
export function generateSecret(prefix: string): string {
  return `${prefix}${randomBytes(32).toString('base64url')}`;
}

/**
 * The sha256 of a secret, in hex: what is stored instead of the secret. Secrets carry 256
 * random bits, so a fast unsalted hash is enough (no password stretching needed).
 *
 * @example
 * hashSecret('hat_Jx3…'); // '9f86d0…' (64 hex characters)
 */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

const HEX = /^(?:[0-9a-fA-F]{2})*$/;

/**
 * Compares two hex strings (e.g. secret hashes) in time independent of where they differ.
 * `false` for different lengths or anything that is not hex. Case-insensitive.
 *
 * @example
 * timingSafeEqualHex(hashSecret(presented), storedHash);
 */
export function timingSafeEqualHex(a: string, b: string): boolean {
  if (a.length !== b.length || !HEX.test(a) || !HEX.test(b)) return false;
  return timingSafeEqual(Buffer.from(a, 'hex'), Buffer.from(b, 'hex'));
}
