import { readdir, readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDuration } from './diagnostics-commands.js';
import { run } from './run.js';
import { testIo, useCliHarness } from './stub-server.test-helpers.js';

const h = useCliHarness();

const command = {
  id: 'diag_01',
  app: 'shop',
  target: { type: 'device', id: 'd-42' },
  kind: 'upload_logs',
  params: { sinceHours: 24 },
  note: null,
  state: 'pending',
  createdAt: '2026-11-21T08:00:00.000Z',
  expiresAt: '2026-11-24T08:00:00.000Z',
  deliveredAt: null,
  deliveredTo: null,
  uploadedAt: null,
  cancelledAt: null,
  expiredAt: null,
  upload: null,
  history: [{ state: 'pending', at: '2026-11-21T08:00:00.000Z' }],
};
const problem = (status: number, code: string, detail: string) => ({
  status,
  body: { type: `https://halftone.dev/docs/errors#${code.toLowerCase()}`, title: detail, status, detail, code, errorId: 'e-1' },
});

describe('halftone diag', () => {
  it('parses durations', () => {
    expect(parseDuration('3d')).toBe(259_200);
    expect(parseDuration('12h')).toBe(43_200);
    expect(parseDuration('90')).toBe(90);
    expect(() => parseDuration('0')).toThrow();
    expect(() => parseDuration('3 days')).toThrow();
  });

  it('request posts the target, kind, parameters, expiry and note', async () => {
    h.stub.on('POST', '/admin/v1/apps/shop/diagnostics', { status: 201, body: command });
    const { code, stdout } = await h.cli([
      'diag', 'request', '--app', 'shop', '--device', 'd-42', '--kind', 'upload_logs', '--since-hours', '24', '--expires', '3d', '--note', 'ticket 7',
    ]);
    expect(code).toBe(0);
    expect(h.stub.requests[0]?.body).toEqual({ kind: 'upload_logs', deviceId: 'd-42', sinceHours: 24, expiresInSeconds: 259_200, note: 'ticket 7' });
    expect(stdout).toBe('Requested diag_01 (upload_logs) for device:d-42; expires 2026-11-24T08:00:00.000Z\n');
  });

  it('request for a user with a custom payload; --json prints the body', async () => {
    h.stub.on('POST', '/admin/v1/apps/shop/diagnostics', { status: 201, body: command });
    const { code, stdout } = await h.cli(['diag', 'request', '--app', 'shop', '--user', 'alice', '--kind', 'custom', '--payload', '{"x":1}', '--json']);
    expect(code).toBe(0);
    expect(h.stub.requests[0]?.body).toEqual({ kind: 'custom', userId: 'alice', payload: { x: 1 } });
    expect(JSON.parse(stdout)).toEqual(command);
  });

  it('request needs exactly one target and a known kind (usage errors, nothing sent)', async () => {
    const both = await h.cli(['diag', 'request', '--app', 'shop', '--device', 'a', '--user', 'b', '--kind', 'upload_logs']);
    expect(both.code).toBe(2);
    expect(both.stderr).toBe('HT_CLI_USAGE: give exactly one of --device and --user\n');
    const kind = await h.cli(['diag', 'request', '--app', 'shop', '--device', 'a', '--kind', 'reboot']);
    expect(kind.code).toBe(2);
    expect((await h.cli(['diag', 'request', '--app', 'shop', '--device', 'a', '--kind', 'upload_logs', '--expires', 'soon'])).code).toBe(2);
    expect(h.stub.requests).toHaveLength(0);
  });

  it('prints server errors as CODE: message and exits non-zero', async () => {
    h.stub.on('POST', '/admin/v1/apps/shop/diagnostics', problem(400, 'HT_DIAG_EXPIRY_TOO_LONG', 'Expiry of 9999999 s is beyond the limit of 2592000 s'));
    const res = await h.cli(['diag', 'request', '--app', 'shop', '--device', 'a', '--kind', 'upload_logs', '--since-hours', '1', '--expires', '9999999']);
    expect(res.code).toBe(6);
    expect(res.stderr).toBe('HT_DIAG_EXPIRY_TOO_LONG: Expiry of 9999999 s is beyond the limit of 2592000 s\n');
    h.stub.on('GET', '/admin/v1/apps/shop/diagnostics/nope', problem(404, 'HT_DIAG_NOT_FOUND', 'Diagnostic command "nope" not found'));
    const json = await h.cli(['diag', 'show', 'nope', '--app', 'shop', '--json']);
    expect(json.code).toBe(4);
    expect(JSON.parse(json.stdout)).toMatchObject({ code: 'HT_DIAG_NOT_FOUND' });
  });

  it('list passes the filters and prints a table with the next page', async () => {
    h.stub.on('GET', '/admin/v1/apps/shop/diagnostics', { status: 200, body: { commands: [command], nextCursor: 'diag_00' } });
    const { code, stdout } = await h.cli(['diag', 'list', '--app', 'shop', '--state', 'pending', '--device', 'd-42', '--limit', '1']);
    expect(code).toBe(0);
    expect(h.stub.requests[0]?.query).toEqual({ state: 'pending', device: 'd-42', limit: '1' });
    expect(stdout.split('\n')).toEqual([
      'ID       KIND         TARGET       STATE    CREATED                   EXPIRES',
      'diag_01  upload_logs  device:d-42  pending  2026-11-21T08:00:00.000Z  2026-11-24T08:00:00.000Z',
      '',
      'More: --cursor diag_00',
      '',
    ]);
    h.stub.on('GET', '/admin/v1/apps/shop/diagnostics', { status: 200, body: { commands: [], nextCursor: null } });
    expect((await h.cli(['diag', 'list', '--app', 'shop'])).stdout).toBe('No diagnostic commands in app shop.\n');
    expect((await h.cli(['diag', 'list', '--app', 'shop', '--state', 'lost'])).code).toBe(2);
  });

  it('show prints the fields and the history; cancel sends DELETE', async () => {
    const uploaded = {
      ...command,
      state: 'uploaded',
      upload: { size: 204_800, sha256: 'ab'.repeat(32), contentType: 'application/gzip', deviceId: 'd-42' },
      history: [...command.history, { state: 'uploaded', at: '2026-11-21T09:00:00.000Z' }],
    };
    h.stub.on('GET', '/admin/v1/apps/shop/diagnostics/diag_01', { status: 200, body: uploaded });
    const shown = await h.cli(['diag', 'show', 'diag_01', '--app', 'shop']);
    expect(shown.stdout).toContain('state:    uploaded');
    expect(shown.stdout).toContain('upload:   200.0 KiB (204800 bytes) application/gzip from d-42');
    expect(shown.stdout).toContain('  2026-11-21T09:00:00.000Z  uploaded');
    h.stub.on('DELETE', '/admin/v1/apps/shop/diagnostics/diag_01', { status: 200, body: { ...command, state: 'cancelled' } });
    const cancelled = await h.cli(['diag', 'cancel', 'diag_01', '--app', 'shop']);
    expect(cancelled.stdout).toBe('Cancelled diag_01 (cancelled)\n');
    expect(h.stub.requests.at(-1)?.method).toBe('DELETE');
  });

  it('download saves the bytes with the admin token; errors leave no file', async () => {
    h.stub.on('GET', '/admin/v1/apps/shop/diagnostics/diag_01/upload', { status: 200, text: { contentType: 'text/plain', body: 'line 1\nline 2\n' } });
    const res = await h.cli(['diag', 'download', 'diag_01', '--app', 'shop', '--out', 'logs.txt', '--json']);
    expect(res.code, res.stderr).toBe(0);
    expect(await readFile(join(h.cwd, 'logs.txt'), 'utf8')).toBe('line 1\nline 2\n');
    expect(JSON.parse(res.stdout)).toMatchObject({ id: 'diag_01', size: 14, file: join(h.cwd, 'logs.txt') });
    expect(h.stub.requests[0]?.headers.authorization).toBe('Bearer tok-1');
    h.stub.on('GET', '/admin/v1/apps/shop/diagnostics/diag_02/upload', problem(404, 'HT_DIAG_UPLOAD_MISSING', 'Diagnostic command "diag_02" has no upload (pending)'));
    const missing = await h.cli(['diag', 'download', 'diag_02', '--app', 'shop', '--out', 'none.bin']);
    expect(missing.code).toBe(4);
    expect(missing.stderr).toBe('HT_DIAG_UPLOAD_MISSING: Diagnostic command "diag_02" has no upload (pending)\n');
    expect((await readdir(h.cwd)).sort()).toEqual(['logs.txt']);
  });

  it('download refuses bytes that do not match the announced SHA-256', async () => {
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/gzip', 'x-halftone-sha256': '0'.repeat(64) });
      res.end('tampered');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const io = testIo({ cwd: h.cwd });
      const code = await run(['--url', url, '--token', 't', 'diag', 'download', 'diag_01', '--app', 'shop', '--out', 'x.gz'], io);
      expect(code).toBe(1);
      expect(io.stderr.text()).toMatch(/^HT_CLI_BAD_RESPONSE: the download's SHA-256 is/);
      expect(await readdir(h.cwd)).toEqual([]);
    } finally {
      server.close();
    }
  });
});
