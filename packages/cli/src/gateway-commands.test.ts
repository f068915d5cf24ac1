import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type * as server from '@halftone/server';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { levelsFrom } from './gateway-commands.js';
import { run } from './run.js';
import type { ServeGatewayOptions, ServerModule } from './serve-command.js';
import { testIo, useCliHarness } from './stub-server.test-helpers.js';

const h = useCliHarness();

const uidsuffix = { divtype: 'uidsuffix', divdata: [{ suffix: '7', upstream: 'beta' }] };
const policy = { id: 'gwp_1', levels: [uidsuffix], revision: 1, createdAt: '2026-01-01T00:00:00Z', updatedAt: '2026-01-01T00:00:00Z' };

describe('halftone gateway (the role)', () => {
  it("matches @halftone/server's serveGateway() (checked by the type check of the tests)", () => {
    expectTypeOf<typeof server.serveGateway>().toExtend<NonNullable<ServerModule['serveGateway']>>();
  });

  it('starts role gateway with the flags of the issue', async () => {
    const calls: ServeGatewayOptions[] = [];
    const loadServer = async () => ({
      serve: async () => expect.fail('serve was called'),
      serveGateway: async (o: ServeGatewayOptions) => void calls.push(o),
    });
    const io = testIo();
    const code = await run(
      [
        'gateway',
        '--gateway-port',
        '8080',
        '--upstream',
        'stable=http://10.0.0.1:8080',
        '--upstream',
        'beta=http://10.0.0.2:8080,http://10.0.0.3:8080',
        '--default-upstream',
        'stable',
        '--gateway-admin-compat',
        '--host',
        '0.0.0.0',
      ],
      io,
      { loadServer },
    );
    expect(code, io.stderr.text()).toBe(0);
    expect(calls).toEqual([
      {
        gatewayPort: 8080,
        host: '0.0.0.0',
        upstreams: { stable: ['http://10.0.0.1:8080'], beta: ['http://10.0.0.2:8080', 'http://10.0.0.3:8080'] },
        defaultUpstream: 'stable',
        gatewayAdminCompat: true,
      },
    ]);
  });

  it('passes nothing it was not given; refuses bad flags and stray words', async () => {
    const calls: ServeGatewayOptions[] = [];
    const loadServer = async () => ({ serve: async () => {}, serveGateway: async (o: ServeGatewayOptions) => void calls.push(o) });
    expect(await run(['gateway'], testIo(), { loadServer })).toBe(0);
    expect(calls).toEqual([{}]);
    let io = testIo();
    expect(await run(['gateway', '--gateway-port', 'x'], io, { loadServer })).toBe(2);
    expect(io.stderr.text()).toMatch(/^HT_CLI_USAGE: option '--gateway-port <n>'/);
    io = testIo();
    expect(await run(['gateway', 'polcy', 'list'], io, { loadServer })).toBe(2);
    expect(io.stderr.text()).toMatch(/^HT_CLI_USAGE: .*too many arguments/);
    expect(calls).toHaveLength(1);
  });

  it('reports a configuration refusal from the server with its code', async () => {
    const error = Object.assign(new Error('Configuration is invalid'), {
      code: 'HT_CONFIG_INVALID',
      status: 500,
      detail: 'role gateway needs a shared postgres:// dbUrl and a redis:// busUrl',
    });
    const loadServer = async () => ({
      serve: async () => {},
      serveGateway: async () => {
        throw error;
      },
    });
    const io = testIo();
    expect(await run(['gateway', '--gateway-port', '8080'], io, { loadServer })).toBe(7);
    expect(io.stderr.text()).toBe(
      'HT_CONFIG_INVALID: Configuration is invalid: role gateway needs a shared postgres:// dbUrl and a redis:// busUrl\n',
    );
  });
});

describe('halftone gateway policy', () => {
  it('adds a policy from --levels, printing its id', async () => {
    h.stub.on('POST', '/admin/v1/gateway/policies', { status: 201, body: policy });
    const { code, stdout } = await h.cli(['gateway', 'policy', 'add', '--levels', JSON.stringify([uidsuffix])]);
    expect(code).toBe(0);
    expect(h.stub.requests[0]?.body).toEqual({ levels: [uidsuffix] });
    expect(stdout).toMatch(/^Created policy gwp_1\n/);
    expect(stdout).toContain('levels:    uidsuffix');
  });

  it('adds a policy from --file (an object with levels, or one level), --json prints one object', async () => {
    h.stub.on('POST', '/admin/v1/gateway/policies', { status: 201, body: policy });
    await writeFile(join(h.cwd, 'policy.json'), JSON.stringify({ levels: [uidsuffix] }));
    await writeFile(join(h.cwd, 'one.json'), JSON.stringify(uidsuffix));
    let r = await h.cli(['gateway', 'policy', 'add', '--file', 'policy.json', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(policy);
    r = await h.cli(['gateway', 'policy', 'add', '--file', 'one.json']);
    expect(r.code).toBe(0);
    expect(h.stub.requests.map((q) => q.body)).toEqual([{ levels: [uidsuffix] }, { levels: [uidsuffix] }]);
  });

  it('needs exactly one of --file and --levels, and JSON levels, before any request', async () => {
    for (const args of [[], ['--levels', '[]', '--file', 'x.json'], ['--levels', '{nope'], ['--levels', '"text"'], ['--file', 'missing.json']]) {
      const r = await h.cli(['gateway', 'policy', 'add', ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(/^HT_CLI_USAGE: /);
    }
    expect(h.stub.requests).toHaveLength(0);
  });

  it('prints the server problem of a rejected policy, with its pointers', async () => {
    h.stub.on('POST', '/admin/v1/gateway/policies', {
      status: 400,
      body: {
        title: 'The policy group is invalid: level 1: unknown divtype',
        status: 400,
        code: 'HT_GATEWAY_POLICY_INVALID',
        detail: 'The policy group is invalid: level 1: unknown divtype',
        errors: [{ pointer: '/body/levels/0', message: 'unknown divtype' }],
      },
    });
    const r = await h.cli(['gateway', 'policy', 'add', '--levels', '[{"divtype":"nope","divdata":[]}]']);
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/^HT_GATEWAY_POLICY_INVALID: /);
    expect(r.stderr).toContain('/body/levels/0: unknown divtype');
  });

  it('replaces the levels of a policy, with the revision it is based on', async () => {
    h.stub.on('PUT', '/admin/v1/gateway/policies/gwp_1', { status: 200, body: { ...policy, revision: 2 } });
    const r = await h.cli(['gateway', 'policy', 'set', 'gwp_1', '--levels', JSON.stringify(uidsuffix), '--revision', '1']);
    expect(r.code, r.stderr).toBe(0);
    expect(h.stub.requests[0]?.body).toEqual({ levels: [uidsuffix], revision: 1 });
    expect(r.stdout).toMatch(/^Updated policy gwp_1 to revision 2\n/);
  });

  it('lists and shows policies', async () => {
    h.stub.on('GET', '/admin/v1/gateway/policies', { status: 200, body: { policies: [policy] } });
    h.stub.on('GET', '/admin/v1/gateway/policies/gwp_1', { status: 200, body: policy });
    let r = await h.cli(['gateway', 'policy', 'list']);
    expect(r.stdout).toBe('ID     REV  LEVELS     UPDATED\ngwp_1  1    uidsuffix  2026-01-01T00:00:00Z\n');
    r = await h.cli(['gateway', 'policy', 'show', 'gwp_1']);
    expect(r.stdout).toContain('"suffix": "7"');
    r = await h.cli(['gateway', 'policy', 'list', '--json']);
    expect(JSON.parse(r.stdout)).toEqual({ policies: [policy] });
  });

  it('prints the history of a policy', async () => {
    h.stub.on('GET', '/admin/v1/gateway/policies/abp-0/history', {
      status: 200,
      body: {
        id: 'abp-0',
        revisions: [
          { revision: 1, change: 'created', at: '2026-01-01T00:00:00Z', actor: 'ab_admin', levels: [uidsuffix], historyId: 'gwh_1' },
          { revision: 2, change: 'deleted', at: '2026-01-02T00:00:00Z', actor: 'v1.0', levels: [uidsuffix], historyId: 'gwh_2' },
        ],
      },
    });
    const r = await h.cli(['gateway', 'policy', 'history', 'abp-0']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        'REV  CHANGE   AT                    BY        LEVELS',
        '1    created  2026-01-01T00:00:00Z  ab_admin  uidsuffix',
        '2    deleted  2026-01-02T00:00:00Z  v1.0      uidsuffix',
        '',
      ].join('\n'),
    );
  });

  it('removes a policy; a missing one exits 4 with the server code', async () => {
    h.stub.on('DELETE', '/admin/v1/gateway/policies/gwp_1', { status: 204 });
    let r = await h.cli(['gateway', 'policy', 'rm', 'gwp_1', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ id: 'gwp_1', deleted: true });
    h.stub.on('DELETE', '/admin/v1/gateway/policies/gwp_2', {
      status: 404,
      body: { title: 'Policy group "gwp_2" does not exist', status: 404, code: 'HT_GATEWAY_POLICY_NOT_FOUND', detail: 'Policy group "gwp_2" does not exist' },
    });
    r = await h.cli(['gateway', 'policy', 'rm', 'gwp_2']);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/^HT_GATEWAY_POLICY_NOT_FOUND: /);
  });
});

describe('halftone gateway host / upstream / history', () => {
  it('binds, lists and unbinds hosts', async () => {
    h.stub.on('PUT', '/admin/v1/gateway/hosts/api.example.com', { status: 200, body: { host: 'api.example.com', policyId: 'gwp_1', updatedAt: 't' } });
    h.stub.on('GET', '/admin/v1/gateway/hosts', { status: 200, body: { hosts: [{ host: 'api.example.com', policyId: 'gwp_1', updatedAt: 't' }] } });
    h.stub.on('DELETE', '/admin/v1/gateway/hosts/api.example.com', { status: 204 });
    let r = await h.cli(['gateway', 'host', 'set', 'api.example.com', '--policy', 'gwp_1']);
    expect(r.stdout).toBe('Bound api.example.com to policy gwp_1\n');
    expect(h.stub.requests[0]?.body).toEqual({ policyId: 'gwp_1' });
    r = await h.cli(['gateway', 'host', 'list']);
    expect(r.stdout).toBe('HOST             POLICY  UPDATED\napi.example.com  gwp_1   t\n');
    r = await h.cli(['gateway', 'host', 'rm', 'api.example.com']);
    expect(r.stdout).toBe('Unbound api.example.com\n');
    r = await h.cli(['gateway', 'host', 'set', 'api.example.com']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^HT_CLI_USAGE: .*--policy/);
  });

  it('sets, lists and removes upstreams', async () => {
    const beta = { name: 'beta', urls: ['http://10.0.0.2:8080', 'http://10.0.0.3:8080'], updatedAt: 't' };
    h.stub.on('PUT', '/admin/v1/gateway/upstreams/beta', { status: 200, body: beta });
    h.stub.on('GET', '/admin/v1/gateway/upstreams', { status: 200, body: { upstreams: [beta] } });
    h.stub.on('DELETE', '/admin/v1/gateway/upstreams/beta', { status: 204 });
    let r = await h.cli(['gateway', 'upstream', 'set', 'beta', 'http://10.0.0.2:8080', 'http://10.0.0.3:8080']);
    expect(r.code).toBe(0);
    expect(h.stub.requests[0]?.body).toEqual({ urls: beta.urls });
    expect(r.stdout).toBe('Set upstream beta: http://10.0.0.2:8080 http://10.0.0.3:8080\n');
    r = await h.cli(['gateway', 'upstream', 'list']);
    expect(r.stdout).toBe(
      'NAME  URLS                                       TIMEOUT  UPDATED\nbeta  http://10.0.0.2:8080,http://10.0.0.3:8080  default  t\n',
    );
    h.stub.on('PUT', '/admin/v1/gateway/upstreams/slow', { status: 200, body: { name: 'slow', urls: ['http://s'], timeoutMs: 90000, updatedAt: 't' } });
    r = await h.cli(['gateway', 'upstream', 'set', 'slow', 'http://s', '--timeout-ms', '90000']);
    expect(r.stdout).toBe('Set upstream slow: http://s (timeout 90000 ms)\n');
    expect(h.stub.requests.at(-1)?.body).toEqual({ urls: ['http://s'], timeoutMs: 90000 });
    r = await h.cli(['gateway', 'upstream', 'set', 'slow', 'http://s', '--timeout-ms', '0']);
    expect(r.code).not.toBe(0);
    r = await h.cli(['gateway', 'upstream', 'rm', 'beta', '--json']);
    expect(JSON.parse(r.stdout)).toEqual({ name: 'beta', deleted: true });
  });

  it('pages the change log', async () => {
    h.stub.on('GET', '/admin/v1/gateway/history', {
      status: 200,
      body: {
        entries: [{ id: 'gwh_2', at: 't2', actor: 'admin-api', target: 'policy', key: 'gwp_1', change: 'updated', kind: 'policy.update', revision: 2, data: {} }],
        next: 'gwh_2',
      },
    });
    const r = await h.cli(['gateway', 'history', '--limit', '1', '--before', 'gwh_3']);
    expect(r.code, r.stderr).toBe(0);
    expect(h.stub.requests[0]?.query).toEqual({ limit: '1', before: 'gwh_3' });
    expect(r.stdout).toBe(
      'AT  BY         WHAT    KEY    CHANGE   REV\nt2  admin-api  policy  gwp_1  updated  2\nmore: halftone gateway history --before gwh_2\n',
    );
    const bad = await h.cli(['gateway', 'history', '--limit', '0']);
    expect(bad.code).toBe(2);
  });
});

describe('levelsFrom', () => {
  it('accepts an array, {levels}, or one level', () => {
    expect(levelsFrom([uidsuffix], 'x')).toEqual([uidsuffix]);
    expect(levelsFrom({ levels: [uidsuffix] }, 'x')).toEqual([uidsuffix]);
    expect(levelsFrom(uidsuffix, 'x')).toEqual([uidsuffix]);
    expect(() => levelsFrom({ nope: 1 }, '--levels')).toThrow('--levels must be');
  });
});
