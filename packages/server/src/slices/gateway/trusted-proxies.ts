import { BlockList, isIP } from 'node:net';
import { parseTrustedProxyEntry, type TrustedProxyEntry } from '../../platform/config/config-schema.js';

const IPV4_MAPPED = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;

/** Peers remembered per matcher; the cache is dropped whole when it grows past this. */
const CACHE_LIMIT = 4096;

/** `::ffff:10.1.2.3` → `10.1.2.3` (IPv4-mapped IPv6, RFC 4291 §2.5.5.2); other strings unchanged. */
function unmap(address: string): string {
  const m = IPV4_MAPPED.exec(address);
  return m?.[1] ?? address;
}

function add(list: BlockList, entry: TrustedProxyEntry): void {
  if (entry.prefix === undefined) list.addAddress(entry.address, entry.family);
  else list.addSubnet(entry.address, entry.prefix, entry.family);
}

/**
 * Compiles the `gateway.trustedProxies` list into a predicate on the connection's peer address:
 * true when the peer is a proxy whose `X-Real-IP` / `X-Forwarded-For` may be believed.
 *
 * Entries are exact addresses (`10.0.0.9`, `fd00::1`), CIDR blocks (`10.0.0.0/8`, `fd00::/8`)
 * or the word `loopback` (127.0.0.0/8 and ::1). An IPv4-mapped IPv6 peer (`::ffff:10.1.2.3`, what
 * a dual-stack socket reports for an IPv4 client) is matched against the IPv4 entries. An
 * undefined or unparsable peer is never trusted. Matching uses Node's `net.BlockList`; answers
 * are cached per peer string, so the per-request cost is one Map lookup.
 *
 * @throws TypeError naming the first entry that is not an address, a CIDR block or `loopback`
 *   (the configuration loader rejects such lists at start, so this only guards direct callers).
 * @example
 * const trusted = trustedPeerMatcher(['loopback', '10.0.0.0/8']);
 * trusted('::ffff:10.1.2.3'); // true
 * trusted('192.0.2.1');       // false
 */
export function trustedPeerMatcher(list: readonly string[]): (peer: string | undefined) => boolean {
  const blocks = new BlockList();
  for (const raw of list) {
    const entries = parseTrustedProxyEntry(raw);
    if (entries === undefined) {
      throw new TypeError(`gateway.trustedProxies: ${JSON.stringify(raw)} is not an IP address, a CIDR block or "loopback"`);
    }
    for (const entry of entries) add(blocks, entry);
  }
  if (list.length === 0) return () => false;
  const cache = new Map<string, boolean>();
  return (peer) => {
    if (peer === undefined || peer === '') return false;
    const known = cache.get(peer);
    if (known !== undefined) return known;
    const address = unmap(peer);
    const family = isIP(address);
    let trusted = false;
    if (family !== 0) {
      try {
        trusted = blocks.check(address, family === 4 ? 'ipv4' : 'ipv6');
      } catch {
        // An address BlockList cannot read (e.g. with a zone id): not trusted.
        trusted = false;
      }
    }
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(peer, trusted);
    return trusted;
  };
}
