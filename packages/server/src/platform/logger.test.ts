import { Writable } from 'node:stream';
import Fastify from 'fastify';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createLoggerOptions } from './logger.js';

const ADMIN = 'hat_ADMIN-SECRET-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const CLIENT_KEY = 'hck_CLIENT-SECRET-bbbbbbbbbbbbbbbbbbbbbbbbbbbb';
const COOKIE = 'session=COOKIE-SECRET-cccc';

function capture(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  return { stream, text: () => chunks.join('') };
}

describe('createLoggerOptions', () => {
  it('keeps credentials out of request logs', async () => {
    const out = capture();
    const app = Fastify({ logger: createLoggerOptions('trace', { stream: out.stream }) });
    app.get('/admin/v1/apps', async (request) => {
      // A careless log call that dumps the whole request and its headers.
      request.log.info({ req: request, headers: request.headers }, 'handling');
      return { ok: true };
    });
    const res = await app.inject({
      method: 'GET',
      url: '/admin/v1/apps',
      headers: {
        authorization: `Bearer ${ADMIN}`,
        'x-halftone-key': CLIENT_KEY,
        cookie: COOKIE,
        'user-agent': 'halftone-cli/1.0',
      },
    });
    await app.close();
    expect(res.statusCode).toBe(200);
    const logs = out.text();
    expect(logs).toContain('incoming request');
    expect(logs).toContain('halftone-cli/1.0');
    expect(logs).not.toContain('ADMIN-SECRET');
    expect(logs).not.toContain('CLIENT-SECRET');
    expect(logs).not.toContain('COOKIE-SECRET');
  });

  it('redacts adminToken and clientKey fields in logged objects', () => {
    const out = capture();
    const log = pino(createLoggerOptions('info'), out.stream);
    log.info({ adminToken: ADMIN, config: { adminToken: ADMIN }, app: { clientKey: CLIENT_KEY } });
    log.info({ clientKey: CLIENT_KEY, req: { headers: { authorization: ADMIN } } });
    const logs = out.text();
    expect(logs).not.toContain('ADMIN-SECRET');
    expect(logs).not.toContain('CLIENT-SECRET');
    expect(logs).toContain('[redacted]');
  });

  it('sets the level', () => {
    expect(createLoggerOptions('warn').level).toBe('warn');
    const out = capture();
    const log = pino(createLoggerOptions('silent'), out.stream);
    log.fatal('nothing');
    expect(out.text()).toBe('');
  });
});
