import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, cli, startServer } from './harness.js';

interface IngestAnswer {
  accepted: number;
  duplicates: number;
  rejected: { index: number; code: string }[];
}

describe('client events and release health against the real server', () => {
  let server: RunningServer;
  let clientKey: string;
  let releaseId: string;
  let workDir: string;

  const post = (body: Buffer, headers: Record<string, string> = {}) =>
    fetch(`${server.url}/client/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson', 'content-encoding': 'gzip', 'x-halftone-key': clientKey, ...headers },
      body,
    });
  const ndjsonGzip = (header: object, items: object[]) =>
    gzipSync(Buffer.from([header, ...items].map((x) => JSON.stringify(x)).join('\n')));
  const header = (deviceId: string, version: string, deviceModel = 'Pixel 8') => ({
    deviceId,
    app: 'demo',
    platform: 'android',
    appVersion: '8.3.0',
    sent_at: new Date().toISOString(),
    modules: { home: version },
    deviceModel,
  });
  const sessionItems = (crashed: boolean) => {
    const now = Date.now();
    const sid = randomUUID();
    return [
      { id: randomUUID(), type: 'session', ts: now - 5000, sid, phase: 'start', status: 'ok' },
      ...(crashed
        ? [
            { id: randomUUID(), type: 'crash', ts: now - 1000, exceptionType: 'TypeError', message: 'x is undefined', stack: 'at render (home.js:10:5)' },
          ]
        : []),
      { id: randomUUID(), type: 'session', ts: now - 500, sid, phase: 'end', status: crashed ? 'crashed' : 'exited' },
      { id: randomUUID(), type: 'page_view', ts: now - 4000, page: '/home' },
    ];
  };
  const health = async (query: string) => {
    const res = await fetch(`${server.url}/admin/v1/apps/demo/health?${query}`, {
      headers: { authorization: `Bearer ${server.token}` },
    });
    expect(res.status).toBe(200);
    return (await res.json()) as Record<string, unknown> & { sessions: number; crashRate: number | null };
  };

  beforeAll(async () => {
    server = await startServer({ HALFTONE_EVENTS_RATE_LIMITS_CRASH: '3', HALFTONE_DELTA_WORKERS: '0' });
    workDir = await mkdtemp(join(tmpdir(), 'halftone-events-'));
    await mkdir(join(workDir, 'home'), { recursive: true });
    await writeFile(join(workDir, 'home', 'index.html'), '<h1>home 2.0.0</h1>');
    const app = await cli(server, ['app', 'create', 'demo', '--platform', 'android', '--json']);
    clientKey = String(app.json().clientKey);
    const pub = await cli(server, ['publish', join(workDir, 'home'), '--app', 'demo', '--module', 'home', '--version', '2.0.0', '--kind', 'h5', '--json']);
    expect(pub.code).toBe(0);
    const rel = await cli(server, ['release', 'create', '--app', 'demo', '--module', 'home', '--version', '2.0.0', '--whitelist', 'new-1,new-2', '--json']);
    expect(rel.code).toBe(0);
    releaseId = String(rel.json().id);
  });
  afterAll(async () => {
    await server?.stop();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  it('ingests NDJSON+gzip batches from release and baseline devices; a resent batch is deduplicated', async () => {
    const first = ndjsonGzip(header('new-1', '2.0.0'), sessionItems(true));
    const res = await post(first);
    expect(res.status).toBe(200);
    expect((await res.json()) as IngestAnswer).toMatchObject({ accepted: 4, duplicates: 0, rejected: [] });
    const resent = await post(first);
    expect((await resent.json()) as IngestAnswer).toMatchObject({ accepted: 0, duplicates: 4 });
    for (const d of ['new-2']) expect((await post(ndjsonGzip(header(d, '2.0.0', 'Galaxy A15'), sessionItems(false)))).status).toBe(200);
    for (const d of ['old-1', 'old-2', 'old-3', 'old-4']) {
      expect((await post(ndjsonGzip(header(d, '1.0.0'), sessionItems(false)))).status).toBe(200);
    }
  });

  it('answers 429 with Retry-After past a tight crash limit, and stores nothing of that batch', async () => {
    const crash = () => ({ id: randomUUID(), type: 'crash', ts: Date.now(), message: 'boom' });
    const res = await post(ndjsonGzip(header('new-2', '2.0.0', 'Galaxy A15'), [crash(), crash(), crash(), crash()]));
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(((await res.json()) as { code: string }).code).toBe('HT_EVENTS_RATE_LIMITED');
  });

  it('reads the health of the release and of the baseline back from the admin API', async () => {
    const rel = await health(`release=${releaseId}`);
    expect(rel).toMatchObject({
      release: releaseId,
      module: 'home',
      version: '2.0.0',
      sessions: 2,
      sessionsCrashed: 1,
      crashes: 1,
      crashRate: 0.5,
      crashFreeSessionRate: 0.5,
      distinctDevices: 2,
    });
    expect((rel.byStage as { stage: string }[]).map((s) => s.stage)).toEqual(['whitelist']);
    expect((rel.byDeviceModel as { deviceModel: string }[]).map((m) => m.deviceModel).sort()).toEqual(['Galaxy A15', 'Pixel 8']);
    expect((rel.topCrashGroups as { exceptionType: string; count: number }[])[0]).toMatchObject({ exceptionType: 'TypeError', count: 1 });
    const base = await health('release=none&module=home&version=1.0.0');
    expect(base).toMatchObject({ release: '', sessions: 4, sessionsCrashed: 0, crashRate: 0, distinctDevices: 4 });
  });
});
