/**
 * Every gateway case (DIV-*, HOST-*, ML-*, SW-*) of /work/shared/reference/abtesting-conformance.json,
 * run against the REAL gateway over HTTP: a composed `serve()` per case (empty store, so policy and
 * group ids start at 0), with its gateway port, the ABTestingGateway admin dialect served there
 * (`gatewayAdminCompat`), the reference's location `/abc/(i|f)/` → runtime key `<host>.abc`
 * configured, and tiny `node:http` upstreams `stable`, `beta1`…`beta4` that answer their own name.
 * Setup calls go over HTTP to `/ab_admin`; gateway requests carry the case's headers from loopback
 * (a trusted proxy, so X-Real-IP / X-Forwarded-For are believed) and the answering upstream is read
 * from `X-Halftone-Upstream` and checked against the body.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningHalftone, serve } from '../../serve.js';

const FILE = '/work/shared/reference/abtesting-conformance.json';
const TOKEN = 'hat_test_token_0123456789';
const UPSTREAMS = ['stable', 'beta1', 'beta2', 'beta3', 'beta4'] as const;

interface GatewayRequest {
  target: 'gateway';
  method: string;
  path: string;
  headers: Record<string, string | string[]>;
  remoteAddr?: string;
  http10NoHost?: boolean;
}
interface Expectation {
  upstream?: string;
  upstreamOneOf?: string[];
  status?: number;
  errcode?: number;
}
interface Step {
  type?: 'request' | 'expireCaches' | 'stopStore';
  method?: string;
  path?: string;
  body?: unknown;
  rawBody?: string;
  request?: GatewayRequest;
  expect?: Expectation;
}
interface Case {
  id: string;
  title: string;
  setup: Step[];
  request: GatewayRequest | { target: 'admin' };
  expect: Expectation;
}

const cases: Case[] = existsSync(FILE) ? (JSON.parse(readFileSync(FILE, 'utf8')) as Case[]) : [];
const gatewayCases = cases.filter((c) => /^(DIV|HOST|ML|SW)-/.test(c.id));

/** Cases this suite cannot run, with the reason (none today). */
const SKIPPED: Readonly<Record<string, string>> = {};

interface Answer {
  status: number;
  upstream: string | undefined;
  body: string;
}

/** One gateway request with node:http (so a header given as a list goes out as repeated lines). */
function send(base: string, r: GatewayRequest): Promise<Answer> {
  if (r.http10NoHost === true) return sendHttp10(base, r);
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: u.hostname, port: u.port, method: r.method, path: r.path, headers: r.headers, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => {
          const h = res.headers['x-halftone-upstream'];
          resolve({ status: res.statusCode ?? 0, upstream: Array.isArray(h) ? h[0] : h, body });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** An HTTP/1.0 request without a Host header, over a raw socket (the server closes it after answering). */
function sendHttp10(base: string, r: GatewayRequest): Promise<Answer> {
  const u = new URL(base);
  const lines = [`${r.method} ${r.path} HTTP/1.0`];
  for (const [name, value] of Object.entries(r.headers)) {
    if (name.toLowerCase() === 'host') continue;
    for (const v of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${v}`);
  }
  return new Promise((resolve, reject) => {
    const socket = connect(Number(u.port), u.hostname, () => socket.write(`${lines.join('\r\n')}\r\n\r\n`));
    let raw = '';
    socket.setEncoding('utf8');
    socket.on('data', (c: string) => (raw += c));
    socket.on('error', reject);
    socket.on('close', () => {
      const split = raw.indexOf('\r\n\r\n');
      const head = raw.slice(0, split < 0 ? raw.length : split).split('\r\n');
      const status = Number((head[0] ?? '').split(' ')[1]);
      const upstream = head
        .slice(1)
        .find((l) => l.toLowerCase().startsWith('x-halftone-upstream:'))
        ?.slice('x-halftone-upstream:'.length)
        .trim();
      resolve({ status, upstream, body: split < 0 ? '' : raw.slice(split + 4) });
    });
  });
}

function checkAnswer(a: Answer, e: Expectation, what: string): void {
  if (e.status !== undefined) expect(a.status, what).toBe(e.status);
  const expected = e.upstream !== undefined ? [e.upstream] : e.upstreamOneOf;
  if (expected !== undefined) {
    expect(a.status, `${what}: ${a.body}`).toBe(200);
    expect(expected, `${what}: answered by ${a.upstream}`).toContain(a.upstream);
    expect(a.body, what).toBe(a.upstream);
  }
}

async function admin(base: string, s: Step): Promise<{ code: number }> {
  const hasBody = s.body !== undefined || s.rawBody !== undefined;
  const res = await fetch(`${base}${s.path ?? ''}`, {
    method: s.method ?? 'GET',
    ...(hasBody
      ? { headers: { 'content-type': 'application/json' }, body: s.rawBody ?? JSON.stringify(s.body) }
      : {}),
  });
  expect(res.status, `setup ${s.path}`).toBe(200);
  return (await res.json()) as { code: number };
}

describe('ABTestingGateway conformance: gateway cases against the real proxy over HTTP', { timeout: 30_000 }, () => {
  const upstreams: Server[] = [];
  const urls: Record<string, string[]> = {};

  beforeAll(async () => {
    for (const name of UPSTREAMS) {
      const server = createServer((req, res) => {
        req.resume();
        res.writeHead(200, { 'content-type': 'text/plain' }).end(name);
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      upstreams.push(server);
      urls[name] = [`http://127.0.0.1:${(server.address() as AddressInfo).port}`];
    }
  });
  afterAll(async () => {
    await Promise.all(
      upstreams.map(
        (s) =>
          new Promise<void>((resolve) => {
            s.close(() => resolve());
            s.closeAllConnections();
          }),
      ),
    );
  });

  async function start(): Promise<{ running: RunningHalftone; dir: string }> {
    const dir = mkdtempSync(join(tmpdir(), 'halftone-abproxy-'));
    const running = await serve({
      dataDir: dir,
      port: 0,
      host: '127.0.0.1',
      gatewayPort: 0,
      gatewayAdminCompat: true,
      upstreams: urls,
      defaultUpstream: 'stable',
      gatewayLocations: [{ pattern: '/abc/(i|f)/', suffix: '.abc' }],
      handleSignals: false,
      print: () => {},
      env: { HALFTONE_ADMIN_TOKEN: TOKEN, HALFTONE_LOG_LEVEL: 'silent' },
    });
    return { running, dir };
  }

  it('finds the gateway cases', () => {
    expect(gatewayCases.length).toBeGreaterThanOrEqual(36);
    for (const c of gatewayCases) expect(c.request.target, c.id).toBe('gateway');
  });

  for (const c of gatewayCases) {
    const reason = SKIPPED[c.id];
    const title = `${c.id} ${c.title}`;
    if (reason !== undefined) {
      it.skip(`${title} (skipped: ${reason})`, () => {});
      continue;
    }
    it.concurrent(title, async () => {
      const { running, dir } = await start();
      try {
        const base = running.gatewayUrl ?? '';
        for (const s of c.setup) {
          if (s.type === 'expireCaches') continue; // no stale window: changes are in force at once
          if (s.type === 'stopStore') throw new Error(`${c.id}: stopStore is not a gateway-proxy case`);
          if (s.type === 'request') {
            checkAnswer(await send(base, s.request as GatewayRequest), s.expect ?? {}, `${c.id} warm-up`);
            continue;
          }
          const body = await admin(base, s);
          expect(body.code, `${c.id} setup ${s.path}: ${JSON.stringify(body)}`).toBe(s.expect?.errcode ?? 200);
        }
        checkAnswer(await send(base, c.request as GatewayRequest), c.expect, c.id);
      } finally {
        await running.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
