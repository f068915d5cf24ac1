import { Writable } from 'node:stream';
import multipart from '@fastify/multipart';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_ERRORS_DOCS_URL,
  registerErrorHandling,
  toHalftoneError,
} from './error-handler.js';
import { defineError, HalftoneError } from './halftone-error.js';

const teapotNotReady = defineError('HT_TEST_TEAPOT_NOT_READY', 409, 'Teapot {teapot} is not ready');

interface LogLine {
  level: number;
  msg?: string;
  code?: string;
  errorId?: string;
  err?: { message?: string; stack?: string };
}

let app: FastifyInstance | undefined;
let logs: LogLine[] = [];

afterEach(async () => {
  await app?.close();
  app = undefined;
});

function buildApp(opts: { docsUrl?: string } = {}): FastifyInstance {
  logs = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim() !== '') logs.push(JSON.parse(line) as LogLine);
      }
      done();
    },
  });
  const instance = Fastify({ logger: { level: 'debug', stream } });
  registerErrorHandling(instance, opts);
  app = instance;
  return instance;
}

function multipartBody(
  boundary: string,
  parts: { name: string; filename?: string; content: string }[],
): string {
  let body = '';
  for (const part of parts) {
    body += `--${boundary}\r\n`;
    body += `Content-Disposition: form-data; name="${part.name}"`;
    body += part.filename === undefined ? '\r\n' : `; filename="${part.filename}"\r\n`;
    body += `Content-Type: ${part.filename === undefined ? 'text/plain' : 'application/octet-stream'}\r\n\r\n`;
    body += `${part.content}\r\n`;
  }
  return `${body}--${boundary}--\r\n`;
}

describe('registerErrorHandling', () => {
  it('sends a HalftoneError as a problem+json document', async () => {
    const server = buildApp();
    server.get('/teapots/:id', async () => {
      throw teapotNotReady({ teapot: 'earl-grey' }, { detail: 'Still brewing' });
    });
    const res = await server.inject({ method: 'GET', url: '/teapots/1' });
    expect(res.statusCode).toBe(409);
    expect(res.headers['content-type']).toBe('application/problem+json; charset=utf-8');
    const body = res.json();
    expect(body).toEqual({
      type: `${DEFAULT_ERRORS_DOCS_URL}#ht_test_teapot_not_ready`,
      title: 'Teapot earl-grey is not ready',
      status: 409,
      detail: 'Still brewing',
      instance: expect.any(String),
      code: 'HT_TEST_TEAPOT_NOT_READY',
      errorId: expect.any(String),
    });
    expect(body.instance).toBe(res.headers['request-id'] ?? body.instance);
    const line = logs.find((l) => l.code === 'HT_TEST_TEAPOT_NOT_READY');
    expect(line?.level).toBe(30);
    expect(line?.errorId).toBe(body.errorId);
  });

  it('uses the request id as instance and the docsUrl option for type', async () => {
    const server = buildApp({ docsUrl: 'https://docs.example.com/errors' });
    let requestId = '';
    server.get('/x', async (request) => {
      requestId = request.id;
      throw teapotNotReady();
    });
    const body = (await server.inject({ method: 'GET', url: '/x' })).json();
    expect(body.instance).toBe(requestId);
    expect(body.type).toBe('https://docs.example.com/errors#ht_test_teapot_not_ready');
    expect(body.title).toBe('Teapot {teapot} is not ready');
    expect(body.detail).toBe(body.title);
  });

  it('copies HalftoneError fields into errors[]', async () => {
    const server = buildApp();
    server.get('/x', async () => {
      throw new HalftoneError({
        code: 'HT_TEST_FIELDS',
        status: 422,
        message: 'Bad fields',
        fields: [{ pointer: '/body/a', message: 'must be positive' }],
      });
    });
    const body = (await server.inject({ method: 'GET', url: '/x' })).json();
    expect(body.status).toBe(422);
    expect(body.errors).toEqual([{ pointer: '/body/a', message: 'must be positive' }]);
  });

  it('maps body schema validation to HT_VALIDATION with JSON pointers', async () => {
    const server = buildApp();
    server.post(
      '/releases',
      {
        schema: {
          body: {
            type: 'object',
            required: ['modules'],
            properties: {
              modules: {
                type: 'array',
                items: {
                  type: 'object',
                  required: ['name'],
                  properties: { name: { type: 'string' } },
                },
              },
            },
          },
        },
      },
      async () => ({ ok: true }),
    );
    const wrongType = await server.inject({
      method: 'POST',
      url: '/releases',
      payload: { modules: [{ name: 'a' }, { name: { nested: true } }] },
    });
    expect(wrongType.statusCode).toBe(400);
    const body = wrongType.json();
    expect(body.code).toBe('HT_VALIDATION');
    expect(body.title).toBe('Request validation failed');
    expect(body.errors).toEqual([{ pointer: '/body/modules/1/name', message: 'must be string' }]);

    const missing = await server.inject({
      method: 'POST',
      url: '/releases',
      payload: { modules: [{}] },
    });
    expect(missing.json().errors).toEqual([
      { pointer: '/body/modules/0/name', message: "must have required property 'name'" },
    ]);
  });

  it('points at the extra property for additionalProperties, with every error listed', async () => {
    logs = [];
    const server = Fastify({ ajv: { customOptions: { allErrors: true, removeAdditional: false } } });
    registerErrorHandling(server);
    app = server;
    server.post(
      '/apps',
      {
        schema: {
          body: {
            type: 'object',
            additionalProperties: false,
            required: ['name'],
            properties: { name: { type: 'string' }, 'a/b': { type: 'integer' } },
          },
        },
      },
      async () => ({ ok: true }),
    );
    const res = await server.inject({
      method: 'POST',
      url: '/apps',
      payload: { extra: 1, 'a/b': 'x' },
    });
    expect(res.json().errors).toEqual([
      { pointer: '/body/name', message: "must have required property 'name'" },
      { pointer: '/body/extra', message: 'must NOT have additional properties' },
      { pointer: '/body/a~1b', message: 'must be integer' },
    ]);
  });

  it('maps querystring and params validation with their context in the pointer', async () => {
    const server = buildApp();
    server.get(
      '/items/:id',
      {
        schema: {
          params: { type: 'object', properties: { id: { type: 'integer' } } },
          querystring: { type: 'object', properties: { limit: { type: 'integer', maximum: 10 } } },
        },
      },
      async () => ({ ok: true }),
    );
    const q = (await server.inject({ method: 'GET', url: '/items/1?limit=50' })).json();
    expect(q.errors).toEqual([{ pointer: '/querystring/limit', message: 'must be <= 10' }]);
    const p = (await server.inject({ method: 'GET', url: '/items/abc' })).json();
    expect(p.code).toBe('HT_VALIDATION');
    expect(p.errors[0].pointer).toBe('/params/id');
  });

  it('maps invalid and empty JSON bodies to HT_BAD_JSON', async () => {
    const server = buildApp();
    server.post('/x', async () => ({ ok: true }));
    const invalid = await server.inject({
      method: 'POST',
      url: '/x',
      headers: { 'content-type': 'application/json' },
      payload: '{"a":',
    });
    expect(invalid.statusCode).toBe(400);
    expect(invalid.json().code).toBe('HT_BAD_JSON');
    const empty = await server.inject({
      method: 'POST',
      url: '/x',
      headers: { 'content-type': 'application/json' },
      payload: '',
    });
    expect(empty.statusCode).toBe(400);
    expect(empty.json().code).toBe('HT_BAD_JSON');
  });

  it('maps a SyntaxError with statusCode 400 from a custom parser to HT_BAD_JSON', async () => {
    const server = buildApp();
    server.addContentTypeParser(
      'application/x-custom',
      { parseAs: 'string' },
      (_req, body, done) => {
        try {
          done(null, JSON.parse(String(body)));
        } catch (err) {
          (err as SyntaxError & { statusCode: number }).statusCode = 400;
          done(err as Error, undefined);
        }
      },
    );
    server.post('/x', async () => ({ ok: true }));
    const res = await server.inject({
      method: 'POST',
      url: '/x',
      headers: { 'content-type': 'application/x-custom' },
      payload: 'nope',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('HT_BAD_JSON');
  });

  it('maps a body over bodyLimit to 413 HT_PAYLOAD_TOO_LARGE', async () => {
    const server = buildApp();
    server.post('/x', { bodyLimit: 10 }, async () => ({ ok: true }));
    const res = await server.inject({ method: 'POST', url: '/x', payload: { a: 'x'.repeat(100) } });
    expect(res.statusCode).toBe(413);
    expect(res.json().code).toBe('HT_PAYLOAD_TOO_LARGE');
  });

  it('maps an unknown Content-Type to 415 HT_UNSUPPORTED_MEDIA_TYPE', async () => {
    const server = buildApp();
    server.post('/x', async () => ({ ok: true }));
    const res = await server.inject({
      method: 'POST',
      url: '/x',
      headers: { 'content-type': 'application/x-unknown' },
      payload: 'abc',
    });
    expect(res.statusCode).toBe(415);
    expect(res.json().code).toBe('HT_UNSUPPORTED_MEDIA_TYPE');
  });

  describe('@fastify/multipart errors', () => {
    const boundary = 'halftoneboundary';
    const headers = { 'content-type': `multipart/form-data; boundary=${boundary}` };

    async function multipartApp(limits: Record<string, number>): Promise<FastifyInstance> {
      const server = buildApp();
      await server.register(multipart, { limits });
      server.post('/one', async (request) => {
        const file = await request.file();
        await file?.toBuffer();
        return { ok: true };
      });
      server.post('/many', async (request) => {
        for await (const part of request.parts()) {
          if (part.type === 'file') await part.toBuffer();
        }
        return { ok: true };
      });
      return server;
    }

    it('maps a file over the size limit to 413', async () => {
      const server = await multipartApp({ fileSize: 10 });
      const res = await server.inject({
        method: 'POST',
        url: '/one',
        headers,
        payload: multipartBody(boundary, [
          { name: 'f', filename: 'a.bin', content: 'x'.repeat(50) },
        ]),
      });
      expect(res.statusCode).toBe(413);
      expect(res.json().code).toBe('HT_PAYLOAD_TOO_LARGE');
    });

    const files = [
      { name: 'f1', filename: 'a.bin', content: 'aaa' },
      { name: 'f2', filename: 'b.bin', content: 'bbb' },
    ];
    const fields = [
      { name: 'a', content: 'value' },
      { name: 'b', content: 'value' },
      { name: 'c', content: 'value' },
    ];
    it.each([
      ['files', { files: 1 }, files],
      ['parts', { parts: 2 }, fields],
      ['fields', { fields: 1 }, fields],
    ])('maps the %s limit to 413', async (_name, limits, parts) => {
      const server = await multipartApp(limits);
      const res = await server.inject({
        method: 'POST',
        url: '/many',
        headers,
        payload: multipartBody(boundary, parts),
      });
      expect(res.statusCode).toBe(413);
      expect(res.json().code).toBe('HT_PAYLOAD_TOO_LARGE');
    });

    it('maps "not multipart" to 415', async () => {
      const server = await multipartApp({});
      const res = await server.inject({ method: 'POST', url: '/one', payload: { a: 1 } });
      expect(res.statusCode).toBe(415);
      expect(res.json().code).toBe('HT_UNSUPPORTED_MEDIA_TYPE');
    });
  });

  it('answers 404 HT_NOT_FOUND for an unknown route', async () => {
    const server = buildApp();
    server.get('/known', async () => ({ ok: true }));
    const res = await server.inject({ method: 'GET', url: '/unknown?token=s3cret' });
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toBe('application/problem+json; charset=utf-8');
    const body = res.json();
    expect(body.code).toBe('HT_NOT_FOUND');
    expect(body.detail).toBe('No route for GET /unknown');
    expect(res.body).not.toContain('s3cret');
  });

  it('answers 405 HT_METHOD_NOT_ALLOWED with Allow when only the method is wrong', async () => {
    const server = buildApp();
    server.register(
      async (child) => {
        child.get('/things/:id', async () => ({ ok: true }));
        child.put('/things/:id', async () => ({ ok: true }));
      },
      { prefix: '/v1' },
    );
    const res = await server.inject({ method: 'DELETE', url: '/v1/things/42' });
    expect(res.statusCode).toBe(405);
    expect(res.headers.allow).toBe('GET, HEAD, PUT');
    expect(res.json().code).toBe('HT_METHOD_NOT_ALLOWED');
    const other = await server.inject({ method: 'DELETE', url: '/v1/things/42/more' });
    expect(other.statusCode).toBe(404);
  });

  it('hides the message of a plain Error behind a 500 HT_INTERNAL and logs it at error level', async () => {
    const server = buildApp();
    server.get('/boom', async () => {
      throw new Error('connection string postgres://user:hunter2@db failed');
    });
    const res = await server.inject({ method: 'GET', url: '/boom' });
    expect(res.statusCode).toBe(500);
    expect(res.headers['content-type']).toBe('application/problem+json; charset=utf-8');
    const body = res.json();
    expect(body.code).toBe('HT_INTERNAL');
    expect(body.title).toBe('Internal server error');
    expect(body.detail).toContain(body.errorId);
    expect(res.body).not.toContain('hunter2');
    expect(res.body).not.toContain('Error:');
    expect(res.body).not.toMatch(/at .+:\d+:\d+/);
    const line = logs.find((l) => l.errorId === body.errorId);
    expect(line?.level).toBe(50);
    expect(line?.err?.message).toContain('hunter2');
  });

  it('answers 500 for a thrown non-Error value', async () => {
    const server = buildApp();
    server.get('/boom', async () => {
      throw 'a string';
    });
    const res = await server.inject({ method: 'GET', url: '/boom' });
    expect(res.statusCode).toBe(500);
    expect(res.json().code).toBe('HT_INTERNAL');
    expect(res.body).not.toContain('a string');
  });

  it('maps other 4xx errors to generic codes without echoing non-Fastify messages', async () => {
    const server = buildApp();
    server.get('/conflict', async () => {
      throw Object.assign(new Error('row 17 in table secrets'), { statusCode: 409 });
    });
    server.get('/teapot', async () => {
      throw Object.assign(new Error('internal teapot'), { statusCode: 418 });
    });
    const conflict = await server.inject({ method: 'GET', url: '/conflict' });
    expect(conflict.statusCode).toBe(409);
    expect(conflict.json().code).toBe('HT_CONFLICT');
    expect(conflict.body).not.toContain('secrets');
    const teapot = await server.inject({ method: 'GET', url: '/teapot' });
    expect(teapot.statusCode).toBe(400);
    expect(teapot.json().code).toBe('HT_BAD_REQUEST');
    expect(teapot.body).not.toContain('internal teapot');
    expect(logs.filter((l) => l.level >= 50)).toEqual([]);
  });

  it('keeps the problem shape even when the route has a response schema for the status', async () => {
    const server = buildApp();
    server.get(
      '/x',
      {
        schema: {
          response: { 409: { type: 'object', properties: { only: { type: 'string' } } } },
        },
      },
      async () => {
        throw teapotNotReady();
      },
    );
    const body = (await server.inject({ method: 'GET', url: '/x' })).json();
    expect(body.code).toBe('HT_TEST_TEAPOT_NOT_READY');
    expect(body.only).toBeUndefined();
  });

  it('maps 5xx errors with a statusCode to HT_INTERNAL', () => {
    const mapped = toHalftoneError(Object.assign(new Error('db down'), { statusCode: 503 }));
    expect(mapped.code).toBe('HT_INTERNAL');
    expect(mapped.status).toBe(500);
  });
});
