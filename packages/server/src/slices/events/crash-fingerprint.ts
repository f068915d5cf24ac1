import { createHash } from 'node:crypto';

/** How many normalised frames a fingerprint is computed from (the top of the stack). */
export const MAX_FRAMES = 30;
const MAX_FRAME_CHARS = 300;

/** A crash reduced to what identifies its cause: exception type and normalised frames. */
export interface CrashFingerprint {
  /** 32 hex chars (the first 128 bits of SHA-256 over type and frames). */
  readonly fingerprint: string;
  readonly exceptionType: string;
  readonly frames: readonly string[];
}

// Order matters: addresses and offsets first, then positions, then whatever numbers remain in
// identifiers that change between builds (hex ids, lambda/closure counters).
const HEX_ADDRESS = /\b0x[0-9a-f]+\b/gi;
const PLUS_OFFSET = /\s*\+\s*\d+\b/g; // iOS/ native: `MyApp 0x1000 + 1234`
const LINE_COLUMN = /:(\d+)(?::(\d+))?(?=\)|\s|$)/g; // `file.js:12:34`, `(Foo.java:123)`
const LONG_HEX = /\b[0-9a-f]{8,}\b/gi; // build ids, hashes, uuids pieces
const AT_NUMBER = /@\d+\b/g; // `Object@1a2b` handled by LONG_HEX; `lambda@12`
const DOLLAR_NUMBER = /\$\d+\b/g; // `Foo$1`, `lambda$main$0`
const FRAME_INDEX = /^\d+\s+/; // iOS frame index column `3   MyApp  …`
const JS_AT = /^at\s+/; // JavaScript / Java `at …`
const SPACES = /\s+/g;
const MORE = /^\.\.\.\s*\d+\s+more$/; // Java `... 12 more`

/**
 * Normalises one stack frame so the same code location gives the same text in every build and
 * process: drops memory addresses, `+ offset`s, line and column numbers, long hex ids and
 * generated numeric suffixes, and the leading frame index; keeps the function and file names.
 *
 * @example
 * normaliseFrame('at render (https://x/app.3f9a1c2b.js:10:2345)'); // 'render (https://x/app..js)'
 */
export function normaliseFrame(line: string): string {
  let f = line.trim();
  f = f.replace(FRAME_INDEX, '').replace(JS_AT, '');
  f = f.replace(HEX_ADDRESS, '').replace(PLUS_OFFSET, '').replace(LINE_COLUMN, '');
  f = f.replace(LONG_HEX, '').replace(AT_NUMBER, '@').replace(DOLLAR_NUMBER, '$');
  f = f.replace(SPACES, ' ').trim();
  return f.length > MAX_FRAME_CHARS ? f.slice(0, MAX_FRAME_CHARS) : f;
}

/** The normalised frames of a stack (or signature) text: empty and `... N more` lines dropped. */
export function normaliseStack(stack: string): string[] {
  const frames: string[] = [];
  for (const raw of stack.split(/\r?\n/)) {
    const trimmed = raw.trim();
    if (trimmed === '' || MORE.test(trimmed)) continue;
    const frame = normaliseFrame(trimmed);
    if (frame === '') continue;
    frames.push(frame);
    if (frames.length === MAX_FRAMES) break;
  }
  return frames;
}

/** Numbers and quoted values in a message vary per occurrence; the message's shape does not. */
function messageShape(message: string): string {
  return message
    .replace(/"[^"]*"|'[^']*'/g, '""')
    .replace(/\b0x[0-9a-f]+\b/gi, '')
    .replace(/\d+/g, '0')
    .replace(SPACES, ' ')
    .trim()
    .slice(0, 200);
}

/**
 * Groups a crash. The explicit `signature` wins over the `stack` (a device or SDK that knows
 * better, e.g. a symbolicated signature, sends one); with neither, the exception type and the
 * shape of the message (digits and quoted values blanked) identify the group.
 *
 * The fingerprint is SHA-256 over `exceptionType` and the normalised frames, so two crashes of
 * the same code path in different builds (different addresses, line numbers, bundle hashes)
 * share a group, and different exception types at the same place do not.
 *
 * @example
 * crashFingerprint({ exceptionType: 'TypeError', stack: 'at a (x.js:1:2)\nat b (y.js:3:4)' }).frames;
 * // ['a (x.js)', 'b (y.js)']
 */
export function crashFingerprint(crash: {
  readonly signature?: string | undefined;
  readonly stack?: string | undefined;
  readonly exceptionType?: string | undefined;
  readonly message?: string | undefined;
}): CrashFingerprint {
  const exceptionType = (crash.exceptionType ?? '').trim().slice(0, 200);
  const source = crash.signature !== undefined && crash.signature.trim() !== '' ? crash.signature : (crash.stack ?? '');
  let frames = normaliseStack(source);
  if (frames.length === 0) frames = [`message: ${messageShape(crash.message ?? '')}`];
  const hash = createHash('sha256').update(exceptionType).update('\n').update(frames.join('\n')).digest('hex');
  return { fingerprint: hash.slice(0, 32), exceptionType, frames };
}
