// Real, unmodified OpenFeature clients against the real server over HTTP (reference §d.3):
// @openfeature/server-sdk + @openfeature/ofrep-provider (dynamic context) and
// @openfeature/web-sdk + @openfeature/ofrep-web-provider (static context, ETag/304, SSE via the
// `eventsource` polyfill on Node 20).
import { compileConfigSet, type ConfigItem } from '@halftone/core';
import { OFREPProvider } from '@openfeature/ofrep-provider';
import { OFREPWebProvider } from '@openfeature/ofrep-web-provider';
import { OpenFeature as ServerFeature } from '@openfeature/server-sdk';
import { OpenFeature as WebFeature, ProviderEvents } from '@openfeature/web-sdk';
import { EventSource } from 'eventsource';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../test-app.test-helpers.js';
import { toCoreItem } from './config-model.js';

let h: TestApp;
let url: string;
let prodKey: string;
let testKey: string;
const bulkStatuses: { status: number; inm: boolean; query: string }[] = [];

async function admin(method: 'PUT' | 'POST' | 'GET', path: string, payload?: unknown): Promise<Record<string, any>> {
  const res = await h.api.inject({ method, url: `/admin/v1/apps/demo/config${path}`, headers: h.admin, ...(payload !== undefined ? { payload: payload as object } : {}) });
  if (res.statusCode >= 300) throw new Error(`${method} ${path}: ${res.statusCode} ${res.body}`);
  return res.json() as Record<string, any>;
}

const SPLIT = {
  variants: [
    { name: 'blue', value: 'B', weight: 50 },
    { name: 'green', value: 'G', weight: 50 },
  ],
};

beforeAll(async () => {
  (globalThis as { EventSource?: unknown }).EventSource ??= EventSource;
  h = await createTestApp();
  h.api.addHook('onResponse', async (req, reply) => {
    if (req.method === 'POST' && req.url.startsWith('/ofrep/v1/evaluate/flags') && !req.url.startsWith('/ofrep/v1/evaluate/flags/')) {
      bulkStatuses.push({ status: reply.statusCode, inm: req.headers['if-none-match'] !== undefined, query: req.url.split('?')[1] ?? '' });
    }
  });
  prodKey = await h.createApp('demo');
  testKey = (await h.api.inject({ method: 'GET', url: '/admin/v1/apps/demo/keys', headers: h.admin })).json().test;
  await admin('PUT', '/production/items/kill.login', { type: 'boolean', kind: 'switch', value: true });
  await admin('PUT', '/production/items/greeting', { type: 'string', value: 'hello' });
  await admin('POST', '/production/items/greeting/rules', { when: { attribute: 'channel', operator: 'eq', value: 'huawei' }, value: 'ni hao', variant: 'huawei' });
  await admin('POST', '/production/items/greeting/rules', { fromVersion: '9.0', value: 'hello v9' });
  await admin('PUT', '/production/items/retries', { type: 'integer', value: 3 });
  await admin('PUT', '/production/items/ratio', { type: 'float', value: 0.25 });
  await admin('PUT', '/production/items/layout', { type: 'json', value: { columns: 2, theme: 'dark' } });
  await admin('PUT', '/production/items/colour', { type: 'string', value: 'none' });
  await admin('POST', '/production/items/colour/rules', { id: 'ab', when: { attribute: 'platform', operator: 'eq', value: 'android' }, split: SPLIT });
  await admin('PUT', '/test/items/kill.login', { type: 'boolean', kind: 'switch', value: false });
  await h.api.listen({ port: 0, host: '127.0.0.1' });
  const address = h.api.server.address() as { port: number };
  url = `http://127.0.0.1:${address.port}`;
});
afterAll(async () => {
  await ServerFeature.close();
  await WebFeature.close();
  await h.close();
});

describe('server SDK + ofrep-provider (dynamic context)', () => {
  const client = () => ServerFeature.getClient('halftone');
  beforeAll(async () => {
    await ServerFeature.setProviderAndWait('halftone', new OFREPProvider({ baseUrl: url, headers: [['Authorization', `Bearer ${prodKey}`]] }));
  });

  it('resolves every type with value, variant and reason', async () => {
    const ctx = { targetingKey: 'd-1', appVersion: '8.3', channel: 'xiaomi' };
    expect(await client().getBooleanDetails('kill.login', false, ctx)).toMatchObject({ value: true, reason: 'STATIC' });
    expect(await client().getStringDetails('greeting', 'x', ctx)).toMatchObject({ value: 'hello', reason: 'DEFAULT' });
    expect(await client().getStringDetails('greeting', 'x', { ...ctx, channel: 'huawei' })).toMatchObject({
      value: 'ni hao',
      variant: 'huawei',
      reason: 'TARGETING_MATCH',
    });
    expect(await client().getStringValue('greeting', 'x', { ...ctx, appVersion: '9.1' })).toBe('hello v9');
    expect(await client().getNumberValue('retries', 0, ctx)).toBe(3);
    expect(await client().getNumberValue('ratio', 0, ctx)).toBe(0.25);
    expect(await client().getObjectValue('layout', {}, ctx)).toEqual({ columns: 2, theme: 'dark' });
    const split = await client().getStringDetails('colour', 'x', { targetingKey: 'd-1', platform: 'android' });
    expect(split.reason).toBe('SPLIT');
    expect(['blue', 'green']).toContain(split.variant);
  });

  it('maps errors: FLAG_NOT_FOUND, TYPE_MISMATCH, TARGETING_KEY_MISSING (only where a key is needed)', async () => {
    expect(await client().getBooleanDetails('nope', false, { targetingKey: 'd-1' })).toMatchObject({ value: false, errorCode: 'FLAG_NOT_FOUND' });
    expect(await client().getBooleanDetails('greeting', false, { targetingKey: 'd-1' })).toMatchObject({ value: false, errorCode: 'TYPE_MISMATCH' });
    expect(await client().getStringDetails('colour', 'dflt', { platform: 'android' })).toMatchObject({ value: 'dflt', errorCode: 'TARGETING_KEY_MISSING' });
    expect(await client().getBooleanDetails('kill.login', false, { platform: 'android' })).toMatchObject({ value: true, reason: 'STATIC' });
  });

  it('reports DISABLED once a switch is off, and each environment has its own key', async () => {
    const testClient = ServerFeature.getClient('halftone-test');
    await ServerFeature.setProviderAndWait('halftone-test', new OFREPProvider({ baseUrl: url, headers: [['X-API-Key', testKey]] }));
    expect(await testClient.getBooleanDetails('kill.login', true, { targetingKey: 'd-1' })).toMatchObject({ value: false, reason: 'STATIC' });
    await admin('PUT', '/test/switches/kill.login', { on: false });
    expect(await testClient.getBooleanDetails('kill.login', true, { targetingKey: 'd-1' })).toMatchObject({ value: false, reason: 'DISABLED' });
  });

  it('stickiness parity with our own evaluator', async () => {
    const item = await admin('GET', '/production/items/colour');
    const core: ConfigItem = toCoreItem({ ...item, defaultValue: item.value } as never);
    const set = compileConfigSet([core]);
    let blue = 0;
    for (let i = 0; i < 60; i++) {
      const targetingKey = `device-${i}`;
      const details = await client().getStringDetails('colour', 'x', { targetingKey, platform: 'android' });
      const ours = set.evaluate('colour', { deviceId: targetingKey, platform: 'android' });
      expect(details.variant).toBe(ours.variant);
      expect(details.value).toBe(ours.value);
      if (details.variant === 'blue') blue++;
    }
    expect(blue).toBeGreaterThan(10);
    expect(blue).toBeLessThan(50);
  });
});

describe('the wire, as the OFREP spec says', () => {
  const post = (path: string, body: string, headers: Record<string, string> = { authorization: `Bearer ${prodKey}` }) =>
    fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

  it('401 without a key, 403 with a wrong one, both without a body', async () => {
    const none = await post('/ofrep/v1/evaluate/flags/kill.login', '{"context":{}}', {});
    expect(none.status).toBe(401);
    expect(await none.text()).toBe('');
    const wrong = await post('/ofrep/v1/evaluate/flags', '{"context":{}}', { authorization: 'Bearer hck_wrong' });
    expect(wrong.status).toBe(403);
    expect(await wrong.text()).toBe('');
  });

  it('400 PARSE_ERROR for bad JSON, INVALID_CONTEXT for a context that is not an object, 404 FLAG_NOT_FOUND', async () => {
    const bad = await post('/ofrep/v1/evaluate/flags/kill.login', '{"context":');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ errorCode: 'PARSE_ERROR' });
    const ctx = await post('/ofrep/v1/evaluate/flags', '{"context":[1]}');
    expect(ctx.status).toBe(400);
    expect(await ctx.json()).toMatchObject({ errorCode: 'INVALID_CONTEXT' });
    const missing = await post('/ofrep/v1/evaluate/flags/nope', '{"context":{"targetingKey":"d"}}');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ key: 'nope', errorCode: 'FLAG_NOT_FOUND' });
    const keyless = await post('/ofrep/v1/evaluate/flags/colour', '{"context":{"platform":"android"}}');
    expect(keyless.status).toBe(400);
    expect(await keyless.json()).toMatchObject({ key: 'colour', errorCode: 'TARGETING_KEY_MISSING' });
  });

  it('bulk: per-context ETag, 304, eventStreams with a relative requestUri', async () => {
    const keyless = await post('/ofrep/v1/evaluate/flags', '{"context":{"platform":"android"}}');
    const failed = ((await keyless.json()) as { flags: { key: string }[] }).flags.find((f) => f.key === 'colour');
    expect(failed).toMatchObject({ key: 'colour', errorCode: 'TARGETING_KEY_MISSING' });
    const first = await post('/ofrep/v1/evaluate/flags', '{"context":{"targetingKey":"d-1","channel":"xiaomi"}}');
    const etag = first.headers.get('etag') as string;
    const body = (await first.json()) as { flags: { key: string }[]; eventStreams: { type: string; endpoint: { requestUri: string } }[] };
    expect(body.flags.map((f) => f.key).sort()).toEqual(['colour', 'greeting', 'kill.login', 'layout', 'ratio', 'retries']);
    expect(body.flags.find((f) => f.key === 'colour')).toMatchObject({ reason: 'DEFAULT', value: 'none' });
    expect(body.eventStreams[0]).toMatchObject({ type: 'sse', endpoint: { requestUri: expect.stringMatching(/^\/ofrep\/v1\/events\/demo\/production\//) } });
    const again = await post('/ofrep/v1/evaluate/flags', '{"context":{"targetingKey":"d-1","channel":"xiaomi"}}', { authorization: `Bearer ${prodKey}`, 'if-none-match': etag });
    expect(again.status).toBe(304);
    const other = await post('/ofrep/v1/evaluate/flags', '{"context":{"targetingKey":"d-1","channel":"huawei"}}', { authorization: `Bearer ${prodKey}`, 'if-none-match': etag });
    expect(other.status).toBe(200);
  });
});

describe('web SDK + ofrep-web-provider (static context, SSE)', () => {
  it('evaluates, switches context, and sees a kill switch within a second through SSE', async () => {
    const provider = new OFREPWebProvider({ baseUrl: url, headers: [['Authorization', `Bearer ${prodKey}`]], cacheMode: 'disabled' });
    await WebFeature.setContext({ targetingKey: 'web-1', appVersion: '8.3', channel: 'xiaomi', platform: 'android' });
    await WebFeature.setProviderAndWait(provider);
    const client = WebFeature.getClient();
    expect(client.getBooleanValue('kill.login', false)).toBe(true);
    expect(client.getStringValue('greeting', 'x')).toBe('hello');
    expect(client.getNumberValue('retries', 0)).toBe(3);
    expect(client.getObjectValue('layout', {})).toEqual({ columns: 2, theme: 'dark' });
    expect(client.getBooleanDetails('nope', false).errorCode).toBe('FLAG_NOT_FOUND');

    await WebFeature.setContext({ targetingKey: 'web-1', appVersion: '8.3', channel: 'huawei', platform: 'android' });
    expect(client.getStringValue('greeting', 'x')).toBe('ni hao');
    const sticky = client.getStringDetails('colour', 'x');
    const item = await admin('GET', '/production/items/colour');
    const ours = compileConfigSet([toCoreItem({ ...item, defaultValue: item.value } as never)]).evaluate('colour', { deviceId: 'web-1', platform: 'android' });
    expect(sticky.variant).toBe(ours.variant);

    // Wait until the provider has opened its event stream.
    for (let i = 0; i < 100 && h.dynamicConfig.streams.size === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(h.dynamicConfig.streams.size).toBeGreaterThan(0);
    const changed = new Promise<number>((resolve) => {
      client.addHandler(ProviderEvents.ConfigurationChanged, () => {
        if (client.getBooleanValue('kill.login', true) === false) resolve(Date.now());
      });
    });
    const t0 = Date.now();
    await admin('PUT', '/production/switches/kill.login', { on: false });
    const seenAt = await changed;
    expect(seenAt - t0).toBeLessThan(1000);
    expect(client.getBooleanDetails('kill.login', true)).toMatchObject({ value: false, reason: 'DISABLED' });
    // The SSE refetch carried the event's etag as flagConfigEtag.
    expect(bulkStatuses.some((s) => s.query.includes('flagConfigEtag='))).toBe(true);
    await WebFeature.clearProviders();
  });

  it('polls with If-None-Match and gets 304 while nothing changed for this context', async () => {
    const provider = new OFREPWebProvider({ baseUrl: url, headers: [['Authorization', `Bearer ${prodKey}`]], cacheMode: 'disabled', pollInterval: 100, changeDetection: 'polling' });
    await WebFeature.setContext({ targetingKey: 'poll-1', appVersion: '8.3' });
    await WebFeature.setProviderAndWait(provider);
    const before = bulkStatuses.length;
    await new Promise((r) => setTimeout(r, 450));
    const polls = bulkStatuses.slice(before);
    expect(polls.length).toBeGreaterThanOrEqual(2);
    expect(polls.every((p) => p.inm && p.status === 304)).toBe(true);
    await WebFeature.clearProviders();
  });
});
