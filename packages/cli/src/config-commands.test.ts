import { describe, expect, it } from 'vitest';
import { parseConfigValue } from './config-commands.js';
import { useCliHarness } from './stub-server.test-helpers.js';

const h = useCliHarness();

const item = (over: Record<string, unknown> = {}) => ({
  namespace: 'default',
  key: 'newFlow',
  qualifiedKey: 'newFlow',
  env: 'test',
  type: 'boolean',
  kind: 'config',
  enabled: true,
  value: false,
  rules: [],
  module: null,
  revision: 1,
  updatedAt: '2026-11-21T00:00:00.000Z',
  updatedBy: 'token:abc',
  ...over,
});
const ITEM = '/admin/v1/apps/shop/config/test/items/newFlow';

describe('parseConfigValue', () => {
  it.each([
    ['true', 'boolean', true],
    ['yes', 'boolean', 'yes'],
    ['42', 'integer', 42],
    ['0.5', 'float', 0.5],
    ['4x', 'integer', '4x'],
    ['{"a":[1]}', 'json', { a: [1] }],
    ['42', 'string', '42'],
  ] as const)('%s as %s', (text, type, expected) => {
    expect(parseConfigValue(text, type)).toEqual(expected);
  });
});

describe('halftone app keys', () => {
  it('prints env → key; --json prints the object', async () => {
    h.stub.on('GET', '/admin/v1/apps/shop/keys', { status: 200, body: { test: 'hck_t', production: 'hck_p' } });
    const { code, stdout } = await h.cli(['app', 'keys', 'shop', '--json']);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual({ test: 'hck_t', production: 'hck_p' });
  });
});

describe('halftone config', () => {
  it('set PUTs the typed value', async () => {
    h.stub.on('PUT', ITEM, { status: 200, body: item() });
    const { code, stdout } = await h.cli(['config', 'set', 'newFlow', '--app', 'shop', '--env', 'test', '--type', 'boolean', '--value', 'false', '--owner', 'pay']);
    expect(code).toBe(0);
    expect(h.stub.requests[0]).toMatchObject({ method: 'PUT', path: ITEM, body: { type: 'boolean', value: false, owner: 'pay' } });
    expect(stdout).toMatch(/^Set newFlow in test \(revision 1\)/);
  });

  it('set without --type reads the item type first', async () => {
    h.stub.on('GET', '/admin/v1/apps/shop/config/test/items/limit', { status: 200, body: item({ key: 'limit', type: 'integer', value: 1 }) });
    h.stub.on('PUT', '/admin/v1/apps/shop/config/test/items/limit', { status: 200, body: item({ key: 'limit', type: 'integer', value: 7 }) });
    expect((await h.cli(['config', 'set', 'limit', '--app', 'shop', '--env', 'test', '--value', '7'])).code).toBe(0);
    expect(h.stub.requests[1]?.body).toEqual({ value: 7 });
  });

  it('a server refusal prints HT_CODE: message and exits non-zero', async () => {
    h.stub.on('PUT', ITEM, {
      status: 400,
      body: { type: 'x', title: 'Config item "newFlow" is invalid: /defaultValue expected a boolean, got "yes"', status: 400, code: 'HT_CONFIG_ITEM_INVALID', detail: 'x' },
    });
    const { code, stderr } = await h.cli(['config', 'set', 'newFlow', '--app', 'shop', '--env', 'test', '--type', 'boolean', '--value', 'yes']);
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/^HT_CONFIG_ITEM_INVALID: /);
  });

  it('--env is checked before any request', async () => {
    const { code, stderr } = await h.cli(['config', 'get', 'newFlow', '--app', 'shop', '--env', 'staging']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/^HT_CLI_USAGE: .*--env must be test or production/);
    expect(h.stub.requests).toEqual([]);
  });

  it('rule add: --when makes a dedicated rule, --from-version a generic one, value typed by the item', async () => {
    h.stub.on('GET', ITEM, { status: 200, body: item() });
    h.stub.on('POST', `${ITEM}/rules`, { status: 201, body: item({ rules: [{ id: 'r1', fromVersion: '8.2', value: true }] }) });
    expect((await h.cli(['config', 'rule', 'add', 'newFlow', '--app', 'shop', '--env', 'test', '--value', 'true', '--from-version', '8.2'])).code).toBe(0);
    expect(h.stub.requests[1]?.body).toEqual({ fromVersion: '8.2', value: true });
    const when = '{"attribute":"channel","operator":"eq","value":"huawei"}';
    expect((await h.cli(['config', 'rule', 'add', 'newFlow', '--app', 'shop', '--env', 'test', '--value', 'true', '--when', when, '--id', 'hw'])).code).toBe(0);
    expect(h.stub.requests[3]?.body).toEqual({ id: 'hw', when: JSON.parse(when), value: true });
    const both = await h.cli(['config', 'rule', 'add', 'newFlow', '--app', 'shop', '--env', 'test', '--value', 'true']);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/exactly one of --when or --from-version/);
  });

  it('rule list and remove', async () => {
    h.stub.on('GET', `${ITEM}/rules`, { status: 200, body: { rules: [{ id: 'r1', fromVersion: '8.2', value: true }] } });
    h.stub.on('DELETE', `${ITEM}/rules/r1`, { status: 200, body: item() });
    expect((await h.cli(['config', 'rule', 'list', 'newFlow', '--app', 'shop', '--env', 'test'])).stdout).toMatch(/r1\s+from-version 8\.2\s+→ value true/);
    expect((await h.cli(['config', 'rule', 'remove', 'newFlow', 'r1', '--app', 'shop', '--env', 'test'])).code).toBe(0);
    expect(h.stub.requests[1]).toMatchObject({ method: 'DELETE', path: `${ITEM}/rules/r1` });
  });

  it('get, list, history, restore', async () => {
    h.stub.on('GET', ITEM, { status: 200, body: item() });
    h.stub.on('GET', '/admin/v1/apps/shop/config/test/items', { status: 200, body: { revision: 3, items: [item()] } });
    h.stub.on('GET', `${ITEM}/history`, { status: 200, body: { revisions: [{ revision: 1, action: 'create', actor: 'a', at: 't', item: { value: false } }] } });
    h.stub.on('POST', `${ITEM}/restore`, { status: 200, body: item({ revision: 2 }) });
    expect((await h.cli(['config', 'get', 'newFlow', '--app', 'shop', '--env', 'test'])).stdout).toMatch(/value:\s+false/);
    expect((await h.cli(['config', 'list', '--app', 'shop', '--env', 'test'])).stdout).toMatch(/newFlow\s+boolean\s+on\s+false/);
    expect((await h.cli(['config', 'history', 'newFlow', '--app', 'shop', '--env', 'test', '--json'])).stdout).toMatch(/"action": ?"create"/);
    expect((await h.cli(['config', 'restore', 'newFlow', '--app', 'shop', '--env', 'test', '--revision', '1'])).code).toBe(0);
    expect(h.stub.requests.at(-1)?.body).toEqual({ revision: 1 });
  });

  it('promote prints the diff and applies it only with --yes, guarded by its revisions', async () => {
    const diff = {
      from: 'test',
      to: 'production',
      fromRevision: 4,
      toRevision: 2,
      changes: [{ qualifiedKey: 'newFlow', change: 'changed', before: { value: false }, after: { value: true } }],
    };
    h.stub.on('GET', '/admin/v1/apps/shop/config/promote', { status: 200, body: diff });
    h.stub.on('POST', '/admin/v1/apps/shop/config/promote', { status: 200, body: { ...diff, applied: true } });
    const show = await h.cli(['config', 'promote', '--app', 'shop', '--from', 'test', '--to', 'production']);
    expect(show.stdout).toMatch(/~ newFlow {2}changed false → true/);
    expect(show.stdout).toMatch(/Not applied/);
    expect(h.stub.requests.length).toBe(1);
    expect(h.stub.requests[0]?.query).toEqual({ from: 'test', to: 'production' });
    const yes = await h.cli(['config', 'promote', '--app', 'shop', '--yes']);
    expect(yes.code).toBe(0);
    expect(h.stub.requests[2]?.body).toEqual({ from: 'test', to: 'production', fromRevision: 4, toRevision: 2 });
  });
});

describe('halftone switch', () => {
  it('on/off PUT the switch', async () => {
    h.stub.on('PUT', '/admin/v1/apps/shop/config/production/switches/pkg.home', { status: 200, body: item({ key: 'pkg.home', qualifiedKey: 'pkg.home', env: 'production', enabled: false, revision: 5 }) });
    const { code, stdout } = await h.cli(['switch', 'off', 'pkg.home', '--app', 'shop', '--env', 'production']);
    expect(code).toBe(0);
    expect(h.stub.requests[0]?.body).toEqual({ on: false });
    expect(stdout).toBe('Switched pkg.home off in production (revision 5)\n');
    await h.cli(['switch', 'on', 'pkg.home', '--app', 'shop', '--env', 'production']);
    expect(h.stub.requests[1]?.body).toEqual({ on: true });
  });
});
