import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import type { CliIo } from './output.js';
import { run } from './run.js';

/** One multipart part as the stub received it. */
export interface RecordedPart {
  readonly name: string;
  readonly value?: string;
  readonly filename?: string;
  readonly contentType?: string;
  readonly bytes?: Buffer;
}

/** A request the stub received. */
export interface RecordedRequest {
  readonly method: string;
  /** Path and query, as sent. */
  readonly url: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** Parsed JSON body, if any. */
  readonly body?: unknown;
  /** Multipart parts in the order they were sent, if the body was multipart. */
  readonly parts?: readonly RecordedPart[];
}

/** A canned answer: a status and a JSON body (problem bodies get `application/problem+json`). */
export interface StubAnswer {
  readonly status: number;
  readonly body?: unknown;
  /** Raw text body with its content type, instead of JSON. */
  readonly text?: { readonly contentType: string; readonly body: string };
  /** Wait this long before answering (ms). */
  readonly delayMs?: number;
  /**
   * Answer as soon as the request line and headers arrive, before reading the body (as an auth
   * hook does); the recorded request then has no body.
   */
  readonly early?: boolean;
}

/** A stub admin API: answers `METHOD path` with canned bodies and records every request. */
export interface StubServer {
  readonly url: string;
  readonly requests: RecordedRequest[];
  /** Sets the answer for `METHOD /path` (exact path, no query). */
  on(
    method: string,
    path: string,
    answer: StubAnswer | ((req: RecordedRequest) => StubAnswer),
  ): void;
  close(): Promise<void>;
}

async function parseMultipart(raw: Buffer, contentType: string): Promise<RecordedPart[]> {
  const form = await new Response(raw, { headers: { 'content-type': contentType } }).formData();
  const parts: RecordedPart[] = [];
  for (const [name, value] of form.entries()) {
    if (typeof value === 'string') {
      parts.push({ name, value });
    } else {
      parts.push({
        name,
        filename: value.name,
        contentType: value.type,
        bytes: Buffer.from(await value.arrayBuffer()),
      });
    }
  }
  return parts;
}

/**
 * Starts a Fastify stub of the admin API on a free port. Unknown routes answer a 404 problem.
 *
 * @example
 * const stub = await startStubServer();
 * stub.on('GET', '/admin/v1/apps', { status: 200, body: { apps: [] } });
 */
export async function startStubServer(): Promise<StubServer> {
  const app: FastifyInstance = Fastify({ bodyLimit: 256 * 1024 * 1024 });
  const requests: RecordedRequest[] = [];
  const answers = new Map<string, StubAnswer | ((req: RecordedRequest) => StubAnswer)>();

  app.addContentTypeParser('multipart/form-data', { parseAs: 'buffer' }, (_req, body, done) =>
    done(null, body),
  );
  const answerFor = (method: string, path: string, recorded: RecordedRequest): StubAnswer => {
    const answerOrFn = answers.get(`${method} ${path}`);
    return typeof answerOrFn === 'function'
      ? answerOrFn(recorded)
      : (answerOrFn ?? {
          status: 404,
          body: {
            type: 'https://halftone.dev/docs/errors#ht_not_found',
            title: 'Not found',
            status: 404,
            detail: `No route ${method} ${path}`,
            code: 'HT_NOT_FOUND',
            errorId: 'e-404',
          },
        });
  };
  const send = (reply: FastifyReply, answer: StubAnswer) => {
    reply.code(answer.status);
    if (answer.text !== undefined)
      return reply.type(answer.text.contentType).send(answer.text.body);
    const type = answer.status >= 400 ? 'application/problem+json' : 'application/json';
    return reply.type(type).send(JSON.stringify(answer.body ?? {}));
  };

  app.addHook('onRequest', async (request, reply) => {
    const [path = '', search = ''] = request.url.split('?');
    const answer = answers.get(`${request.method} ${path}`);
    if (answer === undefined || typeof answer === 'function' || answer.early !== true) return;
    const recorded: RecordedRequest = {
      method: request.method,
      url: request.url,
      path,
      query: Object.fromEntries(new URLSearchParams(search)),
      headers: { ...request.headers },
    };
    requests.push(recorded);
    return send(reply, answer);
  });

  app.all('/*', async (request, reply) => {
    const [path = '', search = ''] = request.url.split('?');
    const contentType = String(request.headers['content-type'] ?? '');
    const recorded: RecordedRequest = {
      method: request.method,
      url: request.url,
      path,
      query: Object.fromEntries(new URLSearchParams(search)),
      headers: { ...request.headers },
      ...(contentType.startsWith('multipart/form-data')
        ? { parts: await parseMultipart(request.body as Buffer, contentType) }
        : request.body === undefined
          ? {}
          : { body: request.body }),
    };
    requests.push(recorded);
    const answer = answerFor(request.method, path, recorded);
    if (answer.delayMs !== undefined) await new Promise((r) => setTimeout(r, answer.delayMs));
    return send(reply, answer);
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('stub has no port');
  return {
    url: `http://127.0.0.1:${address.port}`,
    requests,
    on(method, path, answer) {
      answers.set(`${method} ${path}`, answer);
    },
    close: () => app.close(),
  };
}

/** An output that collects what is written to it. */
export interface CapturedOutput {
  write(chunk: string): boolean;
  readonly isTTY?: boolean;
  text(): string;
}

/**
 * Collects output in memory, optionally pretending to be a terminal.
 *
 * @example
 * const out = captureOutput();
 * out.write('x');
 * out.text(); // 'x'
 */
export function captureOutput(isTTY = false): CapturedOutput {
  const chunks: string[] = [];
  return {
    isTTY,
    write(chunk: string) {
      chunks.push(chunk);
      return true;
    },
    text: () => chunks.join(''),
  };
}

/** A test IO: captured stdout/stderr, an empty environment unless given. */
export interface TestIo extends CliIo {
  readonly stdout: CapturedOutput;
  readonly stderr: CapturedOutput;
}

/**
 * Builds an IO for `run()` in tests.
 *
 * @example
 * const io = testIo({ cwd: dir, env: { HALFTONE_URL: stub.url } });
 * const code = await run(['app', 'list'], io);
 */
export function testIo(
  options: { cwd?: string; env?: Record<string, string>; tty?: boolean } = {},
): TestIo {
  return {
    stdout: captureOutput(options.tty ?? false),
    stderr: captureOutput(options.tty ?? false),
    env: options.env ?? {},
    cwd: options.cwd ?? process.cwd(),
  };
}

/** What {@link useCliHarness} gives a test file. */
export interface CliHarness {
  /** The stub admin API (requests are cleared before each test). */
  readonly stub: StubServer;
  /** A fresh temporary working directory for each test. */
  readonly cwd: string;
  /** Runs the CLI against the stub with `--token tok-1`, from {@link cwd}. */
  cli(
    args: readonly string[],
    options?: { env?: Record<string, string>; tty?: boolean },
  ): Promise<{ code: number; stdout: string; stderr: string }>;
}

/**
 * Registers vitest hooks that start a stub server for the file and a temp directory per test.
 *
 * @example
 * const h = useCliHarness();
 * it('lists apps', async () => {
 *   h.stub.on('GET', '/admin/v1/apps', { status: 200, body: { apps: [] } });
 *   expect((await h.cli(['app', 'list'])).code).toBe(0);
 * });
 */
export function useCliHarness(): CliHarness {
  let stub: StubServer | undefined;
  let cwd: string | undefined;
  beforeAll(async () => {
    stub = await startStubServer();
  });
  afterAll(async () => {
    await stub?.close();
  });
  beforeEach(async () => {
    stub?.requests.splice(0);
    cwd = await mkdtemp(join(tmpdir(), 'halftone-cli-'));
  });
  afterEach(async () => {
    if (cwd !== undefined) await rm(cwd, { recursive: true, force: true });
  });
  const harness: CliHarness = {
    get stub() {
      if (stub === undefined) throw new Error('the stub server is not running');
      return stub;
    },
    get cwd() {
      if (cwd === undefined) throw new Error('no working directory outside a test');
      return cwd;
    },
    async cli(args, options = {}) {
      const io = testIo({ cwd: harness.cwd, env: options.env ?? {}, tty: options.tty ?? false });
      const code = await run(['--url', harness.stub.url, '--token', 'tok-1', ...args], io);
      return { code, stdout: io.stdout.text(), stderr: io.stderr.text() };
    },
  };
  return harness;
}
