import type { Random } from './prng.js';

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/**
 * A UUIDv7 (RFC 9562 §5.7) for simulated time `ms`, its 74 random bits from the seeded source:
 * ids grow with time, so they land at the right edge of the server's dedup index (the events
 * benchmark measured v7 ingesting ~2× faster than v4), and a run is reproducible.
 *
 * @example
 * uuidv7(Date.parse('2026-01-05T08:00:00Z'), new Random(1)); // '019b8d…-…-7…-…'
 */
export function uuidv7(ms: number, random: Random): string {
  const b = new Uint8Array(16);
  let t = Math.floor(ms);
  for (let i = 5; i >= 0; i--) {
    b[i] = t % 256;
    t = Math.floor(t / 256);
  }
  const r1 = random.uint32();
  const r2 = random.uint32();
  const r3 = random.uint32();
  b[6] = 0x70 | (r1 & 0x0f);
  b[7] = (r1 >>> 8) & 0xff;
  b[8] = 0x80 | ((r1 >>> 16) & 0x3f);
  b[9] = (r1 >>> 24) & 0xff;
  b[10] = r2 & 0xff;
  b[11] = (r2 >>> 8) & 0xff;
  b[12] = (r2 >>> 16) & 0xff;
  b[13] = (r2 >>> 24) & 0xff;
  b[14] = r3 & 0xff;
  b[15] = (r3 >>> 8) & 0xff;
  const h = Array.from(b, (x) => HEX[x]).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
