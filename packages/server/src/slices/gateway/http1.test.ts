import { describe, expect, it } from 'vitest';
import {
  ChunkedScanner,
  type Http1Error,
  type RequestHead,
  type ResponseHead,
  parseRequestHead,
  parseResponseHead,
  responseFraming,
  scanPlainResponse,
} from './http1.js';

const req = (head: string) => parseRequestHead(head);
const ok = (head: string) => {
  const r = req(head);
  if ('status' in r) throw new Error(`refused: ${r.reason}`);
  return r as RequestHead;
};
const refused = (head: string) => {
  const r = req(head);
  expect('status' in r, `accepted: ${head}`).toBe(true);
  return r as Http1Error;
};

describe('parseRequestHead', () => {
  it('reads the request line, fields, framing and keep-alive', () => {
    const r = ok('POST /a?b=1 HTTP/1.1\r\nHost: example.com:8080\r\nContent-Length: 5\r\nX-Uid:  42 \r\nx-uid: 7');
    expect(r.method).toBe('POST');
    expect(r.target).toBe('/a?b=1');
    expect(r.minor).toBe(1);
    expect(r.host).toBe('example.com:8080');
    expect(r.framing).toEqual({ kind: 'length', length: 5 });
    expect(r.keepAlive).toBe(true);
    expect(r.names).toEqual(['host', 'content-length', 'x-uid', 'x-uid']);
    expect(r.values).toEqual(['example.com:8080', '5', '42', '7']);
    expect(r.lines[2]).toBe('X-Uid:  42 ');
  });

  it('knows when a connection ends after the answer', () => {
    expect(ok('GET / HTTP/1.1\r\nHost: a\r\nConnection: close').keepAlive).toBe(false);
    expect(ok('GET / HTTP/1.0').keepAlive).toBe(false);
    expect(ok('GET / HTTP/1.0\r\nConnection: Keep-Alive').keepAlive).toBe(true);
    expect(ok('GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, X-Private').connectionListed).toEqual(['x-private']);
  });

  it('accepts chunked and Content-Length: 0, and an upgrade only with Connection: upgrade', () => {
    expect(ok('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked').framing).toEqual({ kind: 'chunked' });
    expect(ok('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0').framing).toEqual({ kind: 'none' });
    expect(ok('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3').framing).toEqual({ kind: 'length', length: 3 });
    expect(ok('GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket').upgrade).toBe('websocket');
    expect(ok('GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket').upgrade).toBeUndefined();
    expect(ok('OPTIONS * HTTP/1.1\r\nHost: a').target).toBe('*');
  });

  it.each([
    ['both lengths (CL.TE smuggling)', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked', 400],
    ['differing lengths', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 5', 400],
    ['a list of differing lengths', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4, 5', 400],
    ['a signed length', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +4', 400],
    ['a hex length', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x4', 400],
    ['an unknown transfer coding', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked', 501],
    ['chunked twice', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked', 501],
    ['Transfer-Encoding in HTTP/1.0', 'POST / HTTP/1.0\r\nTransfer-Encoding: chunked', 400],
    ['obs-fold', 'GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n  continued', 400],
    ['space before the colon', 'GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked', 400],
    ['a bare LF', 'GET / HTTP/1.1\nHost: a', 400],
    ['a bare CR inside a value', 'GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r2', 400],
    ['a NUL in a value', 'GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\u00002', 400],
    ['a line without a colon', 'GET / HTTP/1.1\r\nHost: a\r\nnocolon', 400],
    ['a missing Host in HTTP/1.1', 'GET / HTTP/1.1\r\nX-A: 1', 400],
    ['two Hosts', 'GET / HTTP/1.1\r\nHost: a\r\nHost: b', 400],
    ['a Host with a comma', 'GET / HTTP/1.1\r\nHost: a,b', 400],
    ['HTTP/2.0 on the request line', 'GET / HTTP/2.0\r\nHost: a', 505],
    ['a lower-case version', 'GET / http/1.1\r\nHost: a', 400],
    ['two spaces in the request line', 'GET  / HTTP/1.1\r\nHost: a', 400],
    ['a space in the target', 'GET /a b HTTP/1.1\r\nHost: a', 400],
    ['an absolute-form target', 'GET http://x/ HTTP/1.1\r\nHost: a', 400],
    ['CONNECT', 'CONNECT a:443 HTTP/1.1\r\nHost: a', 501],
    ['a method that is not a token', 'G(T / HTTP/1.1\r\nHost: a', 400],
  ])('refuses %s', (_name, head, status) => {
    expect(refused(head).status).toBe(status);
  });

  it('refuses more fields than the limit with 431', () => {
    const many = Array.from({ length: 10 }, (_, i) => `X-${i}: ${i}`).join('\r\n');
    expect(parseRequestHead(`GET / HTTP/1.1\r\nHost: a\r\n${many}`, { maxFields: 5 })).toMatchObject({ status: 431 });
  });
});

describe('parseResponseHead and responseFraming', () => {
  const res = (head: string) => parseResponseHead(head) as ResponseHead;

  it('reads the status line and the framing (RFC 9112 §6.3)', () => {
    const r = res('HTTP/1.1 200 OK\r\nContent-Length: 12\r\nConnection: x-a');
    expect(r.status).toBe(200);
    expect(r.reason).toBe('OK');
    expect(r.keepAlive).toBe(true);
    expect(r.connectionListed).toEqual(['x-a']);
    expect(responseFraming('GET', r)).toEqual({ kind: 'length', length: 12 });
    expect(responseFraming('HEAD', r)).toEqual({ kind: 'none' });
    expect(responseFraming('GET', res('HTTP/1.1 204 No Content'))).toEqual({ kind: 'none' });
    expect(responseFraming('GET', res('HTTP/1.1 304 Not Modified\r\nContent-Length: 9'))).toEqual({ kind: 'none' });
    expect(responseFraming('GET', res('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked'))).toEqual({ kind: 'chunked' });
    expect(responseFraming('GET', res('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3'))).toEqual({ kind: 'chunked' });
    expect(responseFraming('GET', res('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip'))).toEqual({ kind: 'close' });
    expect(responseFraming('GET', res('HTTP/1.1 200 OK'))).toEqual({ kind: 'close' });
    expect(res('HTTP/1.1 200').reason).toBe('');
    expect(res('HTTP/1.0 200 OK').keepAlive).toBe(false);
    expect(res('HTTP/1.0 200 OK\r\nConnection: keep-alive').keepAlive).toBe(true);
    expect(res('HTTP/1.1 200 OK\r\nConnection: close').keepAlive).toBe(false);
  });

  it.each([
    ['garbage', 'HTTP/1.1 2000 OK'],
    ['HTTP/2', 'HTTP/2 200 OK'],
    ['conflicting lengths', 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2'],
    ['a bare LF', 'HTTP/1.1 200 OK\nX: y'],
  ])('answers 502 for %s', (_n, head) => {
    expect(parseResponseHead(head)).toMatchObject({ status: 502 });
  });
});

describe('ChunkedScanner', () => {
  const body = '4;ext=1\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nX-Trailer: 1\r\n\r\n';

  it('finds the end of a chunked body and the data ranges', () => {
    const buf = Buffer.from(`${body}GET /next`);
    const s = new ChunkedScanner();
    const data: string[] = [];
    const end = s.scan(buf, 0, buf.length, (a, b) => data.push(buf.toString('latin1', a, b)));
    expect(end).toBe(body.length);
    expect(s.done).toBe(true);
    expect(data.join('')).toBe('Wikipedia in\r\n\r\nchunks.');
  });

  it('gives the same answer however the bytes are split (every split point, and 1-byte reads)', () => {
    const buf = Buffer.from(body);
    for (let cut = 0; cut <= buf.length; cut++) {
      const s = new ChunkedScanner();
      const a = s.scan(buf, 0, cut);
      const r = a >= 0 ? a : s.scan(buf, cut, buf.length);
      expect(r, `cut at ${cut}`).toBe(buf.length);
    }
    const s = new ChunkedScanner();
    let r = -1;
    for (let i = 0; i < buf.length && r === -1; i++) r = s.scan(buf, i, i + 1);
    expect(r).toBe(buf.length);
  });

  it.each([
    ['a negative size', '-1\r\n'],
    ['a space before the size', ' 1\r\nx\r\n'],
    ['a space after the size', '1 \r\nx\r\n'],
    ['a 0x prefix', '0x1\r\nx\r\n'],
    ['an oversized size (more than 12 hex digits)', '1000000000000\r\n'],
    ['data longer than its size', '1\r\nxx\r\n'],
    ['LF without CR after the size', '1\nx\r\n'],
    ['a bare LF after the data', '1\r\nx\n0\r\n\r\n'],
    ['a control character in an extension', '1;a\u0001\r\nx\r\n'],
    ['a bare LF ending the body', '0\r\n\n'],
  ])('refuses %s', (_n, text) => {
    const s = new ChunkedScanner();
    const buf = Buffer.from(text);
    expect(s.scan(buf, 0, buf.length)).toBe(-2);
    expect(s.error).toBeTypeOf('string');
  });

  it('waits for more bytes on a partial body', () => {
    const s = new ChunkedScanner();
    const buf = Buffer.from('5\r\nab');
    expect(s.scan(buf, 0, buf.length)).toBe(-1);
    expect(s.done).toBe(false);
  });
});

describe('parseRequestHead under mutation (fuzz)', () => {
  /** xorshift32, so failures replay. */
  function rng(seed: number): () => number {
    let x = seed >>> 0 || 1;
    return () => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return (x >>> 0) / 0x1_0000_0000;
    };
  }
  const base =
    'POST /a/b?c=d HTTP/1.1\r\nHost: api.example.com\r\nContent-Length: 12\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\nX-Uid: 42';
  const alphabet = ' \t\r\n:,;0123456789abcdefABCDEF-/\u0000\u007f\u00ffHTTP/1.0chunkedContent-LengthTransfer-Encoding';

  it('never throws, and never accepts a head with ambiguous framing (20,000 mutants)', () => {
    const next = rng(20261121);
    for (let n = 0; n < 20_000; n++) {
      const chars = [...base];
      const edits = 1 + Math.floor(next() * 6);
      for (let e = 0; e < edits; e++) {
        const i = Math.floor(next() * (chars.length + 1));
        const c = alphabet[Math.floor(next() * alphabet.length)] as string;
        const op = next();
        if (op < 0.4) chars.splice(i, 1, c);
        else if (op < 0.7) chars.splice(i, 0, c);
        else chars.splice(i, 1);
      }
      const head = chars.join('');
      const r = parseRequestHead(head);
      if ('status' in r) continue;
      const lengths = r.names.filter((x) => x === 'content-length').length;
      const codings = r.names.filter((x) => x === 'transfer-encoding').length;
      expect(lengths > 0 && codings > 0, head).toBe(false);
      expect(/[\r\n\u0000]/.test(r.values.join('')), head).toBe(false);
      if (r.framing.kind === 'chunked') expect(r.minor).toBe(1);
    }
  });
});

describe('scanPlainResponse (the byte-level fast path)', () => {
  const scan = (head: string) => {
    const b = Buffer.from(head, 'latin1');
    return scanPlainResponse(b, 0, b.length);
  };
  const kept = (head: string) => {
    const r = scan(head);
    if (r === undefined) return undefined;
    const b = Buffer.from(`${head}\r\n`, 'latin1');
    const parts: string[] = [];
    let from = 0;
    for (let k = 0; k < r.drop.length; k += 2) {
      parts.push(b.toString('latin1', from, r.drop[k]));
      from = r.drop[k + 1] as number;
    }
    parts.push(b.toString('latin1', from));
    return parts.join('');
  };

  it('takes the usual answer and drops only hop-by-hop lines', () => {
    const head = 'HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Length: 1024\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nX-Halftone-Upstream: spoofed\r\nX-A: b';
    expect(scan(head)).toMatchObject({ status: 200, contentLength: 1024, keepAlive: true });
    expect(kept(head)).toBe('HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Length: 1024\r\nX-A: b\r\n');
    expect(scan('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close')).toMatchObject({ status: 404, contentLength: 0, keepAlive: false });
    expect(kept('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close')).toBe('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n');
  });

  it.each([
    ['HTTP/1.0', 'HTTP/1.0 200 OK\r\nContent-Length: 1'],
    ['no length', 'HTTP/1.1 200 OK\r\nServer: x'],
    ['chunked', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked'],
    ['two lengths', 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1'],
    ['a signed length', 'HTTP/1.1 200 OK\r\nContent-Length: +1'],
    ['a listed field', 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: x-a'],
    ['an interim status', 'HTTP/1.1 100 Continue'],
    ['204', 'HTTP/1.1 204 No Content\r\nContent-Length: 0'],
    ['obs-fold', 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nX: a\r\n b'],
    ['a bare LF', 'HTTP/1.1 200 OK\r\nContent-Length: 1\nX: a'],
    ['a bare CR', 'HTTP/1.1 200 OK\r\nContent-Length: 1\rX: a'],
    ['a NUL', 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nX: a\u0000'],
    ['a space before the colon', 'HTTP/1.1 200 OK\r\nContent-Length : 1'],
    ['a four-digit status', 'HTTP/1.1 2000 OK\r\nContent-Length: 1'],
    ['a line without a colon', 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nnocolon'],
    ['an upgrade field', 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nUpgrade: h2c'],
  ])('leaves %s to the full parser', (_n, head) => {
    expect(scan(head)).toBeUndefined();
  });

  it('agrees with the full parser on every head it takes (10,000 mutants)', () => {
    let x = 77;
    const next = () => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return (x >>> 0) / 0x1_0000_0000;
    };
    const base = 'HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Length: 12\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nX-Id: 42';
    const alphabet = ' \t\r\n:,0123456789-/aAcCkK\u0000\u007f';
    let taken = 0;
    for (let n = 0; n < 10_000; n++) {
      const chars = [...base];
      const edits = 1 + Math.floor(next() * 3);
      for (let e = 0; e < edits; e++) {
        const i = Math.floor(next() * (chars.length + 1));
        const op = next();
        const c = alphabet[Math.floor(next() * alphabet.length)] as string;
        if (op < 0.4) chars.splice(i, 1, c);
        else if (op < 0.7) chars.splice(i, 0, c);
        else chars.splice(i, 1);
      }
      const head = chars.join('');
      const fast = scan(head);
      if (fast === undefined) continue;
      taken++;
      const full = parseResponseHead(head);
      expect('names' in full, head).toBe(true);
      const r = full as ResponseHead;
      expect([r.status, r.contentLength, r.keepAlive, r.chunked], head).toEqual([fast.status, fast.contentLength, fast.keepAlive, false]);
      // The kept lines are exactly the full parser's non-hop-by-hop lines.
      const hop = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'proxy-authenticate', 'proxy-authorization', 'x-halftone-upstream']);
      const expected = r.names.map((name, i) => (hop.has(name) ? undefined : `${r.lines[i]}\r\n`)).filter((l) => l !== undefined).join('');
      expect(kept(head)?.slice(head.indexOf('\r\n') + 2), head).toBe(expected);
    }
    expect(taken).toBeGreaterThan(1_000);
  });
});
