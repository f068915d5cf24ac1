import { EventSource } from 'eventsource';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, cli, startServer } from './harness.js';

describe('config and switches against the real server and CLI', () => {
  let server: RunningServer;
  let keys: { test: string; production: string };

  const values = async (key: string, device: Record<string, unknown>) => {
    const res = await fetch(`${server.url}/client/v1/config`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ deviceId: 'dev-1', platform: 'android', ...device }),
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { values: Record<string, unknown> }).values;
  };
  const ok = async (args: string[]) => {
    const r = await cli(server, args);
    expect(r.code, `${args.join(' ')}\n${r.stderr}`).toBe(0);
    return r;
  };

  beforeAll(async () => {
    server = await startServer();
    const created = await ok(['app', 'create', 'shop', '--platform', 'android', '--json']);
    keys = (await ok(['app', 'keys', 'shop', '--json'])).json() as typeof keys;
    expect(keys.production).toBe(created.json().clientKey);
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
  });

  it('sets items and rules in test, refuses bad input, promotes with a diff', async () => {
    await ok(['config', 'set', 'newFlow', '--app', 'shop', '--env', 'test', '--type', 'boolean', '--value', 'false']);
    await ok(['config', 'rule', 'add', 'newFlow', '--app', 'shop', '--env', 'test', '--value', 'true', '--from-version', '8.2']);
    await ok(['config', 'rule', 'add', 'newFlow', '--app', 'shop', '--env', 'test', '--value', 'true', '--when', '{"attribute":"channel","operator":"eq","value":"huawei"}']);
    expect((await ok(['config', 'rule', 'list', 'newFlow', '--app', 'shop', '--env', 'test', '--json'])).json().rules).toHaveLength(2);

    const bad = await cli(server, ['config', 'set', 'newFlow', '--app', 'shop', '--env', 'test', '--value', 'maybe']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/^HT_CONFIG_ITEM_INVALID: /);
    const unsafe = await cli(server, ['config', 'rule', 'add', 'newFlow', '--app', 'shop', '--env', 'test', '--value', 'true', '--when', '{"attribute":"deviceModel","operator":"regex","value":"(a+)+$"}']);
    expect(unsafe.stderr).toMatch(/^HT_CONFIG_ITEM_INVALID: /);

    expect(await values(keys.test, { appVersion: '8.3', channel: 'xiaomi' })).toEqual({ newFlow: true });
    expect(await values(keys.test, { appVersion: '8.1', channel: 'xiaomi' })).toEqual({ newFlow: false });
    expect(await values(keys.test, { appVersion: '8.1', channel: 'huawei' })).toEqual({ newFlow: true });
    expect(await values(keys.production, { appVersion: '8.3' })).toEqual({});

    const diff = await ok(['config', 'promote', '--app', 'shop', '--from', 'test', '--to', 'production']);
    expect(diff.stdout).toMatch(/\+ newFlow {2}added false/);
    expect(diff.stdout).toMatch(/Not applied/);
    expect(await values(keys.production, { appVersion: '8.3' })).toEqual({});

    const applied = (await ok(['config', 'promote', '--app', 'shop', '--from', 'test', '--to', 'production', '--yes', '--json'])).json();
    expect(applied).toMatchObject({ applied: true, changes: [{ qualifiedKey: 'newFlow', change: 'added' }] });
    expect(await values(keys.production, { appVersion: '8.3' })).toEqual({ newFlow: true });
    const history = (await ok(['config', 'history', 'newFlow', '--app', 'shop', '--env', 'production', '--json'])).json();
    expect(history.revisions).toMatchObject([{ revision: 1, action: 'promote:test' }]);

    // Change test, then restore its first revision: the rules are gone again.
    await ok(['config', 'restore', 'newFlow', '--app', 'shop', '--env', 'test', '--revision', '1']);
    expect(await values(keys.test, { appVersion: '8.3' })).toEqual({ newFlow: false });
  }, 60_000);

  it('switch off reaches a connected SSE client in under a second', async () => {
    await ok(['config', 'set', 'kill.login', '--app', 'shop', '--env', 'production', '--type', 'boolean', '--value', 'true', '--switch']);
    const bulk = async () => {
      const res = await fetch(`${server.url}/ofrep/v1/evaluate/flags`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': keys.production },
        body: JSON.stringify({ context: { targetingKey: 'dev-1', appVersion: '8.3' } }),
      });
      return (await res.json()) as { flags: { key: string; value?: unknown; reason?: string }[]; eventStreams: { endpoint: { requestUri: string } }[] };
    };
    const first = await bulk();
    expect(first.flags.find((f) => f.key === 'kill.login')).toMatchObject({ value: true, reason: 'STATIC' });
    const stream = new EventSource(new URL(first.eventStreams[0]?.endpoint.requestUri as string, server.url).href);
    try {
      await new Promise<void>((resolve, reject) => {
        stream.onopen = () => resolve();
        stream.onerror = () => reject(new Error('event stream failed'));
      });
      const seen = new Promise<number>((resolve) => {
        stream.onmessage = async (ev) => {
          if ((JSON.parse(ev.data) as { type?: string }).type !== 'refetchEvaluation') return;
          const flag = (await bulk()).flags.find((f) => f.key === 'kill.login');
          if (flag?.value === false) resolve(Date.now());
        };
      });
      await ok(['switch', 'off', 'kill.login', '--app', 'shop', '--env', 'production']);
      const done = Date.now();
      const at = await seen;
      expect(at - done).toBeLessThan(1000);
      expect((await bulk()).flags.find((f) => f.key === 'kill.login')).toMatchObject({ value: false, reason: 'DISABLED' });
    } finally {
      stream.close();
    }
    const audit = await fetch(`${server.url}/admin/v1/apps/shop/config/audit?key=kill.login`, { headers: { authorization: `Bearer ${server.token}` } });
    expect(((await audit.json()) as { entries: { action: string }[] }).entries.map((e) => e.action)).toEqual(['switch.off', 'create']);
  }, 60_000);
});
