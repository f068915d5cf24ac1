/**
 * UTF-8 encoding without `TextEncoder` or `Buffer`, so the same bytes come out on Node, browsers
 * and older React Native Hermes builds. Follows the WHATWG Encoding Standard: surrogate pairs
 * become one 4-byte sequence and lone surrogates become U+FFFD (EF BF BD), exactly like
 * `new TextEncoder().encode(s)`.
 */

/**
 * Writes the UTF-8 bytes of `s` into `out` from index 0 and returns how many bytes were written.
 * `out` must hold at least `3 * s.length` bytes (the worst case); nothing is allocated.
 *
 * @example
 * const out = new Uint8Array(3 * 'héllo'.length);
 * const n = encodeUtf8Into('héllo', out); // 6
 * out.subarray(0, n); // [0x68, 0xc3, 0xa9, 0x6c, 0x6c, 0x6f]
 */
export function encodeUtf8Into(s: string, out: Uint8Array): number {
  const len = s.length;
  let j = 0;
  for (let i = 0; i < len; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      out[j++] = c;
    } else if (c < 0x800) {
      out[j++] = 0xc0 | (c >> 6);
      out[j++] = 0x80 | (c & 0x3f);
    } else {
      if (c >= 0xd800 && c <= 0xdfff) {
        const d = c <= 0xdbff && i + 1 < len ? s.charCodeAt(i + 1) : 0;
        if (d >= 0xdc00 && d <= 0xdfff) {
          i++;
          const cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
          out[j++] = 0xf0 | (cp >> 18);
          out[j++] = 0x80 | ((cp >> 12) & 0x3f);
          out[j++] = 0x80 | ((cp >> 6) & 0x3f);
          out[j++] = 0x80 | (cp & 0x3f);
          continue;
        }
        c = 0xfffd;
      }
      out[j++] = 0xe0 | (c >> 12);
      out[j++] = 0x80 | ((c >> 6) & 0x3f);
      out[j++] = 0x80 | (c & 0x3f);
    }
  }
  return j;
}

/**
 * Returns the UTF-8 bytes of `s` (same output as `new TextEncoder().encode(s)`).
 *
 * @example
 * encodeUtf8('🚀'); // Uint8Array [0xf0, 0x9f, 0x9a, 0x80]
 */
export function encodeUtf8(s: string): Uint8Array {
  const out = new Uint8Array(s.length * 3);
  const n = encodeUtf8Into(s, out);
  return out.slice(0, n);
}
