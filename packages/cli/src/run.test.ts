import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as server from '@halftone/server';
import {
  afterAll,
  afterEach,
  beforeAll,
  beforeEach,
  describe,
  expect,
  expectTypeOf,
  it,
} from 'vitest';
import { run } from './run.js';
import type { ServeOptions, ServerModule } from './serve-command.js';
import { type StubServer, startStubServer, testIo } from './stub-server.test-helpers.js';

let stub: StubServer;
let cwd: string;

beforeAll(async () => {
  stub = await startStubServer();
});
afterAll(async () => {
  await stub.close();
});
beforeEach(async () => {
  stub.requests.length = 0;
  cwd = await mkdtemp(join(tmpdir(), 'halftone-cli-'));
});
afterEach(async () => {
  await rm(cwd, { recursive: true, force: true });
});

/** Runs the CLI against the stub with a token given on the command line. */
async function cli(args: string[], env: Record<string, string> = {}) {
  const io = testIo({ cwd, env });
  const code = await run(['--url', stub.url, '--token', 'tok-1', ...args], io);
  return { code, stdout: io.stdout.text(), stderr: io.stderr.text() };
}

function problem(status: number, code: string, detail: string, extra: object = {}) {
  return {
    type: `https://halftone.dev/docs/errors#${code.toLowerCase()}`,
    title: 'Title of the problem',
    status,
    detail,
    instance: 'req-1',
    code,
    errorId: 'err-1',
    ...extra,
  };
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

describe('global options', () => {
  const apps = {
    apps: [{ id: 'shop', name: 'Shop', platforms: ['android'], createdAt: '2025-01-01' }],
  };

  it('sends the --token as a bearer token and prints one JSON document with --json', async () => {
    stub.on('GET', '/admin/v1/apps', { status: 200, body: apps });
    const { code, stdout, stderr } = await cli(['app', 'list', '--json']);
    expect(code).toBe(0);
    expect(stderr).toBe('');
    expect(JSON.parse(stdout)).toEqual(apps);
    expect(stub.requests[0]?.headers.authorization).toBe('Bearer tok-1');
  });

  it('accepts the global options before or after the command', async () => {
    stub.on('GET', '/admin/v1/apps', { status: 200, body: apps });
    const io = testIo({ cwd });
    const code = await run(['app', '--json', 'list', '--url', stub.url], io);
    expect(code).toBe(0);
    expect(JSON.parse(io.stdout.text())).toEqual(apps);
  });

  it('takes the URL and token from HALFTONE_URL and HALFTONE_TOKEN', async () => {
    stub.on('GET', '/admin/v1/apps', { status: 200, body: apps });
    const io = testIo({ cwd, env: { HALFTONE_URL: stub.url, HALFTONE_TOKEN: 'env-token' } });
    expect(await run(['app', 'list'], io)).toBe(0);
    expect(stub.requests[0]?.headers.authorization).toBe('Bearer env-token');
  });

  it('falls back to ./.halftone/admin-token in the working directory', async () => {
    await mkdir(join(cwd, '.halftone'));
    await writeFile(join(cwd, '.halftone', 'admin-token'), 'file-token\n');
    stub.on('GET', '/admin/v1/apps', { status: 200, body: apps });
    const io = testIo({ cwd, env: { HALFTONE_URL: stub.url } });
    expect(await run(['app', 'list'], io)).toBe(0);
    expect(stub.requests[0]?.headers.authorization).toBe('Bearer file-token');
  });

  it('sends no Authorization header when there is no token at all', async () => {
    stub.on('GET', '/admin/v1/apps', { status: 200, body: apps });
    const io = testIo({ cwd, env: { HALFTONE_URL: stub.url } });
    expect(await run(['app', 'list'], io)).toBe(0);
    expect(stub.requests[0]?.headers.authorization).toBeUndefined();
  });

  it('keeps a path prefix in the URL', async () => {
    stub.on('GET', '/prefix/admin/v1/apps', { status: 200, body: apps });
    const io = testIo({ cwd });
    expect(await run(['--url', `${stub.url}/prefix/`, 'app', 'list'], io)).toBe(0);
    expect(stub.requests[0]?.path).toBe('/prefix/admin/v1/apps');
  });

  it('refuses a --url that is not an http URL', async () => {
    const io = testIo({ cwd });
    expect(await run(['--url', 'ftp://x', 'app', 'list'], io)).toBe(2);
    expect(io.stderr.text()).toMatch(
      /^HT_CLI_USAGE: --url "ftp:\/\/x" must be an http or https URL\n/,
    );
  });
});

describe('API errors', () => {
  it.each([
    [401, 'HT_AUTH_TOKEN_MISSING', 3],
    [403, 'HT_AUTH_TOKEN_INVALID', 3],
    [404, 'HT_APP_NOT_FOUND', 4],
    [409, 'HT_APP_EXISTS', 5],
    [412, 'HT_RELEASE_REVISION_MISMATCH', 5],
    [400, 'HT_VALIDATION', 6],
    [413, 'HT_PAYLOAD_TOO_LARGE', 6],
    [415, 'HT_UNSUPPORTED_MEDIA_TYPE', 6],
    [422, 'HT_UNPROCESSABLE_CONTENT', 6],
    [500, 'HT_INTERNAL', 7],
    [503, 'HT_SERVICE_UNAVAILABLE', 7],
  ])('maps %i %s to exit code %i', async (status, code, exit) => {
    stub.on('GET', '/admin/v1/apps/shop', {
      status,
      body: problem(status, code, `detail ${status}`),
    });
    const result = await cli(['app', 'show', 'shop']);
    expect(result.code).toBe(exit);
    expect(result.stderr.split('\n')[0]).toBe(`${code}: detail ${status}`);
    expect(result.stdout).toBe('');
  });

  it('with --json also prints the problem document, unchanged, on stdout', async () => {
    const body = problem(404, 'HT_APP_NOT_FOUND', 'App "shop" does not exist');
    stub.on('GET', '/admin/v1/apps/shop', { status: 404, body });
    const result = await cli(['app', 'show', 'shop', '--json']);
    expect(result.code).toBe(4);
    expect(result.stderr).toBe('HT_APP_NOT_FOUND: App "shop" does not exist\n');
    expect(JSON.parse(result.stdout)).toEqual(body);
  });

  it('uses the title when the problem has no detail, and lists field errors', async () => {
    const body = {
      title: 'Request validation failed',
      status: 400,
      code: 'HT_VALIDATION',
      errors: [
        { pointer: '/body/platforms/0', message: 'must be equal to one of the allowed values' },
      ],
    };
    stub.on('POST', '/admin/v1/apps', { status: 400, body });
    const result = await cli(['app', 'create', 'shop', '--platform', 'ios']);
    expect(result.code).toBe(6);
    expect(result.stderr).toBe(
      'HT_VALIDATION: Request validation failed\n  /body/platforms/0: must be equal to one of the allowed values\n',
    );
  });

  it('reports a non-problem error answer as HT_CLI_HTTP_ERROR', async () => {
    stub.on('GET', '/admin/v1/apps', {
      status: 502,
      text: { contentType: 'text/html', body: '<html>Bad gateway</html>' },
    });
    const result = await cli(['app', 'list', '--json']);
    expect(result.code).toBe(7);
    expect(result.stderr).toMatch(
      /^HT_CLI_HTTP_ERROR: GET \/admin\/v1\/apps answered HTTP 502: <html>Bad gateway<\/html>\n$/,
    );
    expect(JSON.parse(result.stdout)).toMatchObject({ code: 'HT_CLI_HTTP_ERROR', status: 502 });
  });

  it('reports a 2xx answer that is not JSON', async () => {
    stub.on('GET', '/admin/v1/apps', {
      status: 200,
      text: { contentType: 'text/plain', body: 'ok' },
    });
    const result = await cli(['app', 'list']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^HT_CLI_BAD_RESPONSE: /);
  });
});

describe('an unreachable server', () => {
  it('exits 8 with HT_CLI_UNREACHABLE naming the URL', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const io = testIo({ cwd });
    const code = await run(['--url', url, 'app', 'list'], io);
    expect(code).toBe(8);
    expect(io.stderr.text()).toBe(
      `HT_CLI_UNREACHABLE: cannot reach the Halftone server at ${url} (connection refused)\n`,
    );
    expect(io.stdout.text()).toBe('');
  });

  it('prints one JSON problem with --json', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const io = testIo({ cwd });
    expect(await run(['--json', '--url', url, 'release', 'status', 'r1'], io)).toBe(8);
    expect(JSON.parse(io.stdout.text())).toMatchObject({ code: 'HT_CLI_UNREACHABLE' });
  });

  it('exits 8 when the server does not answer within --timeout', async () => {
    stub.on('GET', '/admin/v1/apps', { status: 200, body: { apps: [] }, delayMs: 1_500 });
    const result = await cli(['--timeout', '0.2', 'app', 'list']);
    expect(result.code).toBe(8);
    expect(result.stderr).toMatch(/^HT_CLI_UNREACHABLE: .*timed out/);
  });
});

describe('usage errors', () => {
  it.each([
    [['app', 'list', '--bogus'], "HT_CLI_USAGE: unknown option '--bogus'"],
    [['nope'], "HT_CLI_USAGE: unknown command 'nope'"],
    [
      ['app', 'create', 'shop'],
      "HT_CLI_USAGE: required option '--platform <platform>' not specified",
    ],
    [['app', 'create', 'shop', '--platform', 'web'], 'HT_CLI_USAGE: option'],
    [['app', 'show'], "HT_CLI_USAGE: missing required argument 'id'"],
    [['app', 'show', 'a', 'b'], 'HT_CLI_USAGE: too many arguments'],
    [[], 'HT_CLI_USAGE: a command is required'],
    [['release'], 'HT_CLI_USAGE: a command is required'],
    [['--timeout', 'soon', 'app', 'list'], 'HT_CLI_USAGE: option'],
  ])('%j → exit 2, %s', async (args, message) => {
    const io = testIo({ cwd });
    const code = await run(['--url', stub.url, ...args], io);
    expect(code).toBe(2);
    const lines = io.stderr.text().trimEnd().split('\n');
    expect(lines.at(-1)?.startsWith(message)).toBe(true);
    expect(stub.requests).toEqual([]);
  });

  it('prints a JSON problem on stdout for usage errors with --json', async () => {
    const io = testIo({ cwd });
    expect(await run(['--json', 'app', 'list', '--bogus'], io)).toBe(2);
    expect(JSON.parse(io.stdout.text())).toEqual({
      title: 'Invalid command line',
      detail: "unknown option '--bogus'",
      code: 'HT_CLI_USAGE',
    });
  });

  it('prints help on stdout and exits 0 for --help', async () => {
    const io = testIo({ cwd });
    expect(await run(['release', 'create', '--help'], io)).toBe(0);
    expect(io.stdout.text()).toContain('--stickiness <key>');
    expect(io.stderr.text()).toBe('');
  });
});

describe('halftone serve', () => {
  it("matches @halftone/server's serve() (checked by the type check of the tests)", () => {
    expectTypeOf<typeof server.serve>().toExtend<ServerModule['serve']>();
  });

  it('passes the options to the server, resolving --data against the working directory', async () => {
    const calls: ServeOptions[] = [];
    const loadServer = async () => ({
      serve: async (options: ServeOptions) => {
        calls.push(options);
      },
    });
    const io = testIo({ cwd });
    const code = await run(
      ['serve', '--data', 'state', '--port', '9090', '--host', '0.0.0.0'],
      io,
      {
        loadServer,
      },
    );
    expect(code).toBe(0);
    expect(calls).toEqual([{ dataDir: join(cwd, 'state'), port: 9090, host: '0.0.0.0' }]);
  });

  it('passes nothing it was not given', async () => {
    const calls: ServeOptions[] = [];
    const loadServer = async () => ({ serve: async (o: ServeOptions) => void calls.push(o) });
    expect(await run(['serve'], testIo({ cwd }), { loadServer })).toBe(0);
    expect(calls).toEqual([{}]);
  });

  it.each([['abc'], ['-1'], ['65536'], ['80.5']])('refuses --port %s', async (port) => {
    const io = testIo({ cwd });
    const loadServer = async () => ({ serve: async () => expect.fail('serve was called') });
    expect(await run(['serve', `--port=${port}`], io, { loadServer })).toBe(2);
    expect(io.stderr.text()).toMatch(/^HT_CLI_USAGE: option '--port <n>' argument/);
  });

  it('reports a HalftoneError from the server with its code', async () => {
    const error = Object.assign(new Error('Invalid configuration'), {
      code: 'HT_CONFIG_INVALID',
      status: 500,
      detail: 'HALFTONE_DB_URL: unsupported scheme',
    });
    const loadServer = async () => ({
      serve: async () => {
        throw error;
      },
    });
    const io = testIo({ cwd });
    expect(await run(['serve'], io, { loadServer })).toBe(7);
    expect(io.stderr.text()).toBe(
      'HT_CONFIG_INVALID: Invalid configuration: HALFTONE_DB_URL: unsupported scheme\n',
    );
  });
});
