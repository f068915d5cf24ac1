// The gateway's HTTP/1.1 engine over real sockets: framing, pipelining, smuggling defences,
// chunked bodies both ways, HTTP/1.0 clients, 100-continue, upgrades, stale keep-alive retries,
// large bodies with backpressure, and the timeouts.
import { createHash, randomBytes } from 'node:crypto';
import { type IncomingMessage, type Server, createServer, request } from 'node:http';
import { type AddressInfo, type Socket, connect, createServer as createNetServer, type Server as NetServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type GatewayListener, listenGateway } from './gateway-listener.js';
import { GatewayProxy, type GatewayProxyOptions } from './gateway-proxy.js';

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

async function listen(server: Server | NetServer): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(
    () =>
      new Promise<void>((r) => {
        if ('closeAllConnections' in server) server.closeAllConnections();
        server.close(() => r());
      }),
  );
  return (server.address() as AddressInfo).port;
}

/** A gateway in front of one upstream (`up`, the default) with these options. */
async function gatewayTo(upstreamUrl: string, opts: Partial<GatewayProxyOptions> = {}): Promise<GatewayListener> {
  const proxy = new GatewayProxy({
    gateway: { table: { hosts: new Map(), upstreams: new Map([['up', [upstreamUrl]]]), defaultUpstream: 'up' } },
    trustedProxies: ['127.0.0.1'],
    timeoutMs: 2_000,
    ...opts,
  });
  const gw = await listenGateway({ proxy, port: 0, host: '127.0.0.1', adminCompat: false });
  closers.push(() => gw.close());
  return gw;
}

interface Raw {
  text: string;
  closed: boolean;
}

/** Writes `payload` on a new connection and reads until `done(text)` or the connection closes. */
function raw(port: number, payload: string | Buffer, done: (text: string) => boolean, timeoutMs = 15_000): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let text = '';
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error(`no answer in time; got ${JSON.stringify(text.slice(0, 500))}`));
    }, timeoutMs);
    s.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      if (done(text)) {
        clearTimeout(t);
        s.destroy();
        resolve({ text, closed: false });
      }
    });
    s.on('close', () => {
      clearTimeout(t);
      resolve({ text, closed: true });
    });
    s.on('error', () => {});
    s.write(payload);
  });
}

const count = (text: string, what: string) => text.split(what).length - 1;

/** An upstream answering `path:method:body` with a Content-Length, and counting connections. */
async function echoUpstream(): Promise<{ url: string; connections: () => number; seen: IncomingMessage[] }> {
  let connections = 0;
  const seen: IncomingMessage[] = [];
  const s = createServer((req, res) => {
    seen.push(req);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (req.url === '/chunked') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('hello ');
        setTimeout(() => res.end('world'), 20);
        return;
      }
      if (req.url === '/204') {
        res.writeHead(204).end();
        return;
      }
      if (req.url?.startsWith('/big')) {
        const n = Number(req.url.slice(5));
        const data = Buffer.alloc(n, 'z');
        res.writeHead(200, { 'content-length': n, 'x-sha': createHash('sha256').update(data).digest('hex') });
        res.end(data);
        return;
      }
      const text = `${req.url}:${req.method}:${body.length > 64 ? createHash('sha256').update(body).digest('hex') : body.toString()}`;
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(text) });
      res.end(req.method === 'HEAD' ? undefined : text);
    });
  });
  s.on('connection', () => connections++);
  const port = await listen(s);
  return { url: `http://127.0.0.1:${port}`, connections: () => connections, seen };
}

// Socket round trips on a loaded 2-core machine can take seconds: generous limits, no timing asserts
// beyond 'closed within a bound'.
describe('gateway engine (HTTP/1.1 over real sockets)', { timeout: 30_000 }, () => {
  it('answers pipelined requests in order on one connection, over one upstream connection', async () => {
    const up = await echoUpstream();
    const gw = await gatewayTo(up.url);
    const three = ['/one', '/two', '/three'].map((p) => `GET ${p} HTTP/1.1\r\nHost: a\r\n\r\n`).join('');
    const r = await raw(gw.port, three, (t) => t.includes('/three:GET:'));
    expect(r.text.indexOf('/one:GET:')).toBeLessThan(r.text.indexOf('/two:GET:'));
    expect(r.text.indexOf('/two:GET:')).toBeLessThan(r.text.indexOf('/three:GET:'));
    expect(count(r.text, 'HTTP/1.1 200 OK')).toBe(3);
    expect(count(r.text, 'x-halftone-upstream: up')).toBe(3);
    expect(up.connections()).toBe(1);
  });

  it('keeps bytes read ahead intact while other connections read (one shared read buffer)', async () => {
    const up = await echoUpstream();
    const gw = await gatewayTo(up.url);
    // Connection A leaves bytes behind after each read: half a head, then a whole request plus
    // the first bytes of a body plus a pipelined request. Between its writes, other connections
    // read (into the same buffer) — bytes A's connection kept by reference would be overwritten.
    const a = connect(gw.port, '127.0.0.1');
    let textA = '';
    a.on('data', (d: Buffer) => (textA += d.toString('latin1')));
    await new Promise((r) => a.once('connect', r));
    const waitFor = async (what: () => boolean) => {
      for (let i = 0; i < 500 && !what(); i++) await new Promise((r) => setTimeout(r, 10));
      expect(what()).toBe(true);
    };
    const others = () =>
      Promise.all(
        Array.from({ length: 4 }, (_, i) => raw(gw.port, `GET /other-${i}-${'q'.repeat(300)} HTTP/1.1\r\nHost: zzzzzzzz\r\nX-Pad: ${'y'.repeat(400)}\r\n\r\n`, (t) => t.includes(':GET:'))),
      );
    a.write('GET /first HTTP/1.1\r\nHo');
    await new Promise((r) => setTimeout(r, 30));
    await others();
    a.write('st: a\r\n\r\nPOST /second HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n01234');
    await waitFor(() => textA.includes('/first:GET:'));
    await others();
    a.write('56789GET /third HTTP/1.1\r\nHost: a\r\n\r\n');
    await waitFor(() => textA.includes('/third:GET:'));
    a.destroy();
    expect(textA).toContain('/second:POST:0123456789');
    expect(count(textA, 'HTTP/1.1 200 OK')).toBe(3);
  });

  it('reuses one upstream connection for sequential requests', async () => {
    const up = await echoUpstream();
    const gw = await gatewayTo(up.url);
    for (let i = 0; i < 20; i++) {
      const r = await raw(gw.port, `GET /n${i} HTTP/1.1\r\nHost: a\r\n\r\n`, (t) => t.includes(`/n${i}:GET:`));
      expect(r.text).toContain('HTTP/1.1 200 OK');
    }
    expect(up.connections()).toBe(1);
  });

  it('refuses a CL.TE smuggling attempt with 400, closes, and forwards nothing', async () => {
    const up = await echoUpstream();
    const gw = await gatewayTo(up.url);
    const attack =
      'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n';
    const r = await raw(gw.port, attack, () => false);
    expect(r.closed).toBe(true);
    expect(r.text).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(r.text).toContain('application/problem+json');
    expect(r.text).toContain('"code":"HT_GATEWAY_BAD_REQUEST"');
    expect(r.text).toContain('connection: close');
    expect(up.seen).toHaveLength(0);
  });

  it.each([
    ['431 for a head over the limit', `GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${'x'.repeat(20_000)}\r\n\r\n`, 431, 'HT_GATEWAY_HEAD_TOO_LARGE'],
    ['501 for an unknown transfer coding', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n', 501, 'HT_GATEWAY_NOT_IMPLEMENTED'],
    ['431 for an endless run of empty lines', '\r\n'.repeat(10_000), 431, 'HT_GATEWAY_HEAD_TOO_LARGE'],
    ['505 for HTTP/3.0', 'GET / HTTP/3.0\r\nHost: a\r\n\r\n', 505, 'HT_GATEWAY_HTTP_VERSION'],
    ['400 for a folded header', 'GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n 2\r\n\r\n', 400, 'HT_GATEWAY_BAD_REQUEST'],
    ['400 for a malformed chunked body', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 400, 'HT_GATEWAY_BAD_REQUEST'],
  ])('answers %s (problem+json) and closes', async (_n, payload, status, code) => {
    const up = await echoUpstream();
    const gw = await gatewayTo(up.url);
    const r = await raw(gw.port, payload, () => false);
    expect(r.closed).toBe(true);
    expect(r.text.startsWith(`HTTP/1.1 ${status} `)).toBe(true);
    expect(r.text).toContain(`"code":"${code}"`);
  });

  it('streams a chunked upload upstream and relays a chunked answer to HTTP/1.1 clients', async () => {
    const up = await echoUpstream();
    const gw = await gatewayTo(up.url);
    const s = connect(gw.port, '127.0.0.1');
    let text = '';
    s.on('data', (d: Buffer) => (text += d.toString('latin1')));
    s.write('POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel');
    await new Promise((r) => setTimeout(r, 30));
    s.write('lo\r\n6\r\n world\r\n0\r\n\r\nGET /chunked HTTP/1.1\r\nHost: a\r\n\r\n');
    for (let i = 0; i < 100 && !text.includes('0\r\n\r\n'); i++) await new Promise((r) => setTimeout(r, 20));
    s.destroy();
    expect(text).toContain('/up:POST:hello world');
    const second = text.slice(text.indexOf('/up:POST:hello world'));
    expect(second).toContain('transfer-encoding: chunked');
    expect(second).toMatch(/6\r\nhello \r\n5\r\nworld\r\n0\r\n\r\n$/);
    expect(up.seen[0]?.headers['transfer-encoding']).toBe('chunked');
  });

  it('de-chunks for HTTP/1.0 clients and closes after the body', async () => {
    const up = await echoUpstream();
    const gw = await gatewayTo(up.url);
    const r = await raw(gw.port, 'GET /chunked HTTP/1.0\r\n\r\n', () => false);
    expect(r.closed).toBe(true);
    expect(r.text).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(r.text).not.toContain('transfer-encoding');
    expect(r.text).toContain('connection: close');
    expect(r.text.endsWith('\r\n\r\nhello world')).toBe(true);
  });

  it('keeps an HTTP/1.0 keep-alive client and sends no body for HEAD, 204 and 304', async () => {
    const up = await echoUpstream();
    const gw = await gatewayTo(up.url);
    const r = await raw(
      gw.port,
      'HEAD /h HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /204 HTTP/1.1\r\nHost: a\r\n\r\nGET /after HTTP/1.1\r\nHost: a\r\n\r\n',
      (t) => t.includes('/after:GET:'),
    );
    expect(r.text).toContain('connection: keep-alive');
    expect(r.text.toLowerCase()).toContain('content-length: 8'); // HEAD keeps the GET's length, without the body
    expect(r.text).not.toContain('/h:HEAD');
    expect(r.text).toContain('HTTP/1.1 204 No Content');
    expect(r.text).toContain('/after:GET:');
  });

  it('relays a body delimited by the upstream closing, then closes the client connection', async () => {
    const server = createNetServer((sock) => {
      sock.once('data', () => sock.end('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end'));
    });
    const port = await listen(server);
    const gw = await gatewayTo(`http://127.0.0.1:${port}`);
    const r = await raw(gw.port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n', () => false);
    expect(r.closed).toBe(true);
    expect(r.text).toContain('connection: close');
    expect(r.text.endsWith('\r\n\r\nuntil the end')).toBe(true);
  });

  it('passes 100-continue through', async () => {
    const up = await echoUpstream();
    const gw = await gatewayTo(up.url);
    const s = connect(gw.port, '127.0.0.1');
    let text = '';
    s.on('data', (d: Buffer) => (text += d.toString('latin1')));
    s.write('POST /c HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n');
    for (let i = 0; i < 100 && !text.includes('100 Continue'); i++) await new Promise((r) => setTimeout(r, 10));
    expect(text).toMatch(/^HTTP\/1\.1 100 Continue\r\n/);
    s.write('body');
    for (let i = 0; i < 100 && !text.includes('/c:POST:body'); i++) await new Promise((r) => setTimeout(r, 10));
    s.destroy();
    expect(text).toContain('HTTP/1.1 200 OK');
    expect(text).toContain('/c:POST:body');
  });

  it('tunnels a WebSocket upgrade both ways after 101', async () => {
    const s = createServer((_req, res) => res.end('plain'));
    const tunnels: Socket[] = [];
    s.on('upgrade', (req, sock: Socket, head) => {
      tunnels.push(sock);
      sock.write(
        'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: x\r\n\r\n',
      );
      if (head.length > 0) sock.write(head);
      sock.on('data', (d: Buffer) => sock.write(Buffer.concat([Buffer.from('echo:'), d])));
      expect(req.headers.upgrade).toBe('websocket');
    });
    const port = await listen(s);
    // (closed before the server, which waits for its upgraded sockets)
    closers.push(async () => {
      for (const t of tunnels) t.destroy();
    });
    const gw = await gatewayTo(`http://127.0.0.1:${port}`);
    const c = connect(gw.port, '127.0.0.1');
    let text = '';
    c.on('data', (d: Buffer) => (text += d.toString('latin1')));
    c.write('GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: k\r\nSec-WebSocket-Version: 13\r\n\r\n');
    for (let i = 0; i < 100 && !text.includes('\r\n\r\n'); i++) await new Promise((r) => setTimeout(r, 10));
    expect(text).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n/);
    expect(text.toLowerCase()).toContain('upgrade: websocket');
    expect(text).toContain('x-halftone-upstream: up');
    c.write('ping-1');
    for (let i = 0; i < 100 && !text.includes('echo:ping-1'); i++) await new Promise((r) => setTimeout(r, 10));
    c.write('ping-2');
    for (let i = 0; i < 100 && !text.includes('echo:ping-2'); i++) await new Promise((r) => setTimeout(r, 10));
    c.destroy();
    expect(text).toContain('echo:ping-1');
    expect(text).toContain('echo:ping-2');
  });

  it('replays a body-less request once when a reused upstream connection turns out closed', async () => {
    let connections = 0;
    const server = createNetServer((sock) => {
      connections++;
      let n = 0;
      sock.on('data', () => {
        n++;
        // Each connection answers its first request, then drops the next one unanswered.
        if (n === 1) sock.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
        else sock.destroy();
      });
    });
    const port = await listen(server);
    const gw = await gatewayTo(`http://127.0.0.1:${port}`);
    for (let i = 0; i < 3; i++) {
      const r = await raw(gw.port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n', (t) => t.endsWith('\r\n\r\nok'));
      expect(r.text).toMatch(/^HTTP\/1\.1 200 OK/);
    }
    expect(connections).toBe(3);
    // A POST is not replayed: the client gets a 502.
    const post = await raw(gw.port, 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx', (t) => t.includes('"code"'));
    expect(post.text).toMatch(/^HTTP\/1\.1 502 /);
  });

  it('moves 8 MB each way intact (backpressure on both sides)', async () => {
    const up = await echoUpstream();
    const gw = await gatewayTo(up.url);
    const size = 8 * 1024 * 1024;
    const down = await new Promise<{ sha: string; expected: string }>((resolve, reject) => {
      const r = request(`${gw.url}/big/${size}`, { headers: { host: 'a' } }, (res) => {
        const h = createHash('sha256');
        res.on('data', (d: Buffer) => h.update(d));
        res.on('end', () => resolve({ sha: h.digest('hex'), expected: String(res.headers['x-sha']) }));
      });
      r.on('error', reject);
      r.end();
    });
    expect(down.sha).toBe(down.expected);
    const body = randomBytes(size);
    const upload = await new Promise<string>((resolve, reject) => {
      const r = request(`${gw.url}/u`, { method: 'PUT', headers: { host: 'a' } }, (res) => {
        let t = '';
        res.on('data', (d: Buffer) => (t += d));
        res.on('end', () => resolve(t));
      });
      r.on('error', reject);
      // Chunked (no length) in 64 KiB pieces.
      for (let i = 0; i < size; i += 65536) r.write(body.subarray(i, i + 65536));
      r.end();
    });
    expect(upload).toBe(`/u:PUT:${createHash('sha256').update(body).digest('hex')}`);
  });

  it('answers 502 for a malformed upstream answer and 504 when the upstream stalls', async () => {
    const server = createNetServer((sock) => {
      sock.on('data', (d: Buffer) => {
        if (d.toString().startsWith('GET /bad')) sock.write('HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx');
        // /stall: never answers
      });
    });
    const port = await listen(server);
    const gw = await gatewayTo(`http://127.0.0.1:${port}`, { timeoutMs: 200 });
    const bad = await raw(gw.port, 'GET /bad HTTP/1.1\r\nHost: a\r\n\r\n', (t) => t.includes('"code"'));
    expect(bad.text).toMatch(/^HTTP\/1\.1 502 /);
    expect(bad.text).toContain('HT_GATEWAY_UPSTREAM_UNREACHABLE');
    const stall = await raw(gw.port, 'GET /stall HTTP/1.1\r\nHost: a\r\n\r\n', (t) => t.includes('"code"'));
    expect(stall.text).toMatch(/^HTTP\/1\.1 504 /);
    expect(stall.text).toContain('HT_GATEWAY_UPSTREAM_TIMEOUT');
  });

  it('closes a connection whose head does not arrive in time, and idle keep-alive connections', async () => {
    const up = await echoUpstream();
    const gw = await gatewayTo(up.url, { headersTimeoutMs: 150, keepAliveTimeoutMs: 150 });
    const started = Date.now();
    const slow = await raw(gw.port, 'GET / HTTP/1.1\r\nHost: a\r\n', () => false);
    expect(slow.closed).toBe(true);
    expect(Date.now() - started).toBeLessThan(2_000);
    const idle = await raw(gw.port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n', () => false);
    expect(idle.closed).toBe(true);
    expect(idle.text).toContain('/:GET:');
  });

  it('sets X-Forwarded-*, drops hop-by-hop and Connection-listed fields, keeps end-to-end ones', async () => {
    const up = await echoUpstream();
    const gw = await gatewayTo(up.url);
    await raw(
      gw.port,
      'GET /h HTTP/1.1\r\nHost: api.example.com\r\nConnection: keep-alive, X-Drop\r\nX-Drop: 1\r\nTE: trailers\r\nProxy-Authorization: x\r\nX-Forwarded-For: 10.0.0.1\r\nX-Keep: yes\r\n\r\n',
      (t) => t.includes('/h:GET:'),
    );
    const h = up.seen[0]?.headers ?? {};
    expect(h['x-forwarded-for']).toBe('10.0.0.1, 127.0.0.1');
    expect(h['x-forwarded-host']).toBe('api.example.com');
    expect(h['x-forwarded-proto']).toBe('http');
    expect(h.host).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(h['x-keep']).toBe('yes');
    expect(h['x-drop']).toBeUndefined();
    expect(h.te).toBeUndefined();
    expect(h['proxy-authorization']).toBeUndefined();
  });

  it('believes X-Forwarded-Proto/-Host only from trusted proxies (addresses, CIDR blocks, loopback)', async () => {
    const ask = async (trustedProxies: string[]) => {
      const up = await echoUpstream();
      const gw = await gatewayTo(up.url, { trustedProxies });
      await raw(
        gw.port,
        'GET /t HTTP/1.1\r\nHost: a.example\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: b.example\r\n\r\n',
        (t) => t.includes('/t:GET:'),
      );
      return up.seen[0]?.headers ?? {};
    };
    expect(await ask(['loopback'])).toMatchObject({ 'x-forwarded-proto': 'https', 'x-forwarded-host': 'b.example' });
    expect(await ask(['127.0.0.0/8'])).toMatchObject({ 'x-forwarded-proto': 'https' });
    expect(await ask(['10.0.0.0/8'])).toMatchObject({ 'x-forwarded-proto': 'http', 'x-forwarded-host': 'a.example' });
    expect(await ask([])).toMatchObject({ 'x-forwarded-proto': 'http' });
  });

  it('survives 300 connections of random bytes and still answers the next real request', async () => {
    const up = await echoUpstream();
    const gw = await gatewayTo(up.url, { keepAliveTimeoutMs: 300 });
    let x = 12345;
    const next = () => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return (x >>> 0) % 256;
    };
    const prefixes = ['', 'GET / HTTP/1.1\r\nHost: a\r\n', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n'];
    await Promise.all(
      Array.from({ length: 300 }, (_, i) => {
        const junk = Buffer.from(Array.from({ length: 1 + (i % 97) * 7 }, next));
        return raw(gw.port, Buffer.concat([Buffer.from(prefixes[i % 3] as string), junk]), () => false, 8_000);
      }),
    );
    const ok = await raw(gw.port, 'GET /alive HTTP/1.1\r\nHost: a\r\n\r\n', (t) => t.includes('/alive:GET:'));
    expect(ok.text).toContain('HTTP/1.1 200 OK');
  });

  it('applies an upstream\'s own timeout instead of the gateway\'s', async () => {
    const server = createNetServer((sock) => {
      sock.on('data', () => {}); // never answers
    });
    const port = await listen(server);
    const url = `http://127.0.0.1:${port}`;
    const proxy = new GatewayProxy({
      gateway: {
        table: {
          // Host "a" is bound to a policy that always picks "quick".
          hosts: new Map([['a', { policyId: 'always-quick', matcher: () => ({ upstream: 'quick', policyIndex: 0 }) }]]),
          upstreams: new Map([['quick', [url]], ['patient', [url]]]),
          timeouts: new Map([['quick', 150]]),
          defaultUpstream: 'patient',
        },
      },
      trustedProxies: [],
      timeoutMs: 60_000,
    });
    const gw = await listenGateway({ proxy, port: 0, host: '127.0.0.1', adminCompat: false });
    closers.push(() => gw.close());
    const started = Date.now();
    const r = await raw(gw.port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n', (t) => t.includes('"code"'));
    expect(r.text).toMatch(/^HTTP\/1\.1 504 /);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});

