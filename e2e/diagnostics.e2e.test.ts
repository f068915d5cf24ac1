import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, cli, startServer } from './harness.js';

const LIMIT = 256 * 1024;

/** Every file under `dir` (relative paths), temporary ones included. */
async function filesUnder(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix === '' ? entry.name : join(prefix, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(dir, rel)));
    else if (entry.isFile()) out.push(rel);
  }
  return out.sort();
}

describe('diagnostics against the real server and CLI', () => {
  let server: RunningServer;
  let clientKey: string;
  let workDir: string;

  const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
  const check = async (deviceId: string, userId?: string) => {
    const res = await fetch(`${server.url}/client/v1/check`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-halftone-key': clientKey },
      body: JSON.stringify({ deviceId, ...(userId ? { userId } : {}), platform: 'android', appVersion: '8.3.0', modules: [] }),
    });
    expect(res.status).toBe(200);
    return (await res.json()) as { commands?: { id: string; kind: string; params: unknown; uploadUrl: string }[] };
  };
  const upload = (id: string, data: Buffer, deviceId = 'dev-1') =>
    fetch(`${server.url}/client/v1/diagnostics/${id}`, {
      method: 'POST',
      headers: { 'x-halftone-key': clientKey, 'x-halftone-device-id': deviceId, 'content-type': 'application/gzip' },
      body: data,
    });
  const request = async (args: string[]) => {
    const res = await cli(server, ['diag', 'request', '--app', 'demo', ...args, '--json']);
    expect(res.code, res.stderr).toBe(0);
    return res.json() as { id: string; state: string };
  };
  const show = async (id: string) => {
    const res = await cli(server, ['diag', 'show', id, '--app', 'demo', '--json']);
    expect(res.code, res.stderr).toBe(0);
    return res.json() as { state: string; upload: { size: number; sha256: string } | null; history: { state: string }[] };
  };

  beforeAll(async () => {
    server = await startServer({ HALFTONE_DIAGNOSTICS_UPLOAD_MAX_BYTES: String(LIMIT), HALFTONE_DELTA_WORKERS: '0' });
    workDir = await mkdtemp(join(tmpdir(), 'halftone-diag-'));
    const app = await cli(server, ['app', 'create', 'demo', '--platform', 'android', '--json']);
    expect(app.code, app.stderr).toBe(0);
    clientKey = String(app.json().clientKey);
  });
  afterAll(async () => {
    await server?.stop();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  it('request → check delivers → upload → admin downloads the same bytes; then 409, 413, 410, 403, 404', async () => {
    const cmd = await request(['--device', 'dev-1', '--kind', 'upload_logs', '--since-hours', '24', '--expires', '3d', '--note', 'e2e']);
    expect(cmd.state).toBe('pending');

    // Only the targeted device's check carries it; that moves it to delivered.
    expect((await check('dev-2')).commands).toBeUndefined();
    const answer = await check('dev-1');
    expect(answer.commands).toEqual([
      expect.objectContaining({ id: cmd.id, kind: 'upload_logs', params: { sinceHours: 24 }, uploadUrl: `${server.url}/client/v1/diagnostics/${cmd.id}` }),
    ]);
    expect((await show(cmd.id)).state).toBe('delivered');

    // The device uploads 200 KB to the URL it was given.
    const data = randomBytes(200 * 1024);
    const up = await fetch(answer.commands?.[0]?.uploadUrl ?? '', {
      method: 'POST',
      headers: { 'x-halftone-key': clientKey, 'x-halftone-device-id': 'dev-1', 'content-type': 'application/gzip' },
      body: data,
    });
    expect(up.status, await up.clone().text()).toBe(200);
    expect(await up.json()).toMatchObject({ id: cmd.id, state: 'uploaded', size: data.length, sha256: sha256(data) });
    const shown = await show(cmd.id);
    expect(shown.state).toBe('uploaded');
    expect(shown.upload).toMatchObject({ size: data.length, sha256: sha256(data) });
    expect(shown.history.map((s) => s.state)).toEqual(['pending', 'delivered', 'uploaded']);

    // The admin downloads exactly those bytes.
    const out = join(workDir, 'logs.gz');
    const down = await cli(server, ['diag', 'download', cmd.id, '--app', 'demo', '--out', out, '--json']);
    expect(down.code, down.stderr).toBe(0);
    expect(down.json()).toMatchObject({ size: data.length, sha256: sha256(data) });
    expect(sha256(await readFile(out))).toBe(sha256(data));
    // …and only the admin: no admin token, no file.
    expect((await fetch(`${server.url}/admin/v1/apps/demo/diagnostics/${cmd.id}/upload`)).status).toBe(401);

    // A second upload for the same command.
    const again = await upload(cmd.id, data);
    expect(again.status).toBe(409);
    expect(await again.json()).toMatchObject({ code: 'HT_DIAG_ALREADY_UPLOADED' });

    // Over the limit: 413 naming it, nothing stored, the command still open.
    const blobDir = join(server.dataDir, 'diagnostics');
    const storedBefore = await filesUnder(blobDir);
    expect(storedBefore).toHaveLength(1);
    const big = await request(['--device', 'dev-1', '--kind', 'upload_crash_dumps']);
    const tooLarge = await upload(big.id, randomBytes(LIMIT + 50 * 1024));
    expect(tooLarge.status).toBe(413);
    const problem = (await tooLarge.json()) as { code: string; title: string };
    expect(problem.code).toBe('HT_DIAG_UPLOAD_TOO_LARGE');
    expect(problem.title).toContain(String(LIMIT));
    expect(await filesUnder(blobDir)).toEqual(storedBefore);
    expect((await show(big.id)).state).toBe('pending');

    // Another device cannot answer it.
    const other = await upload(big.id, Buffer.from('not mine'), 'dev-2');
    expect(other.status).toBe(403);
    expect(await other.json()).toMatchObject({ code: 'HT_DIAG_TARGET_MISMATCH' });

    // An expired command.
    const short = await request(['--device', 'dev-1', '--kind', 'upload_logs', '--since-hours', '1', '--expires', '1s']);
    await new Promise((r) => setTimeout(r, 1100));
    const late = await upload(short.id, Buffer.from('late'));
    expect(late.status).toBe(410);
    expect(await late.json()).toMatchObject({ code: 'HT_DIAG_EXPIRED' });
    expect((await show(short.id)).state).toBe('expired');
    expect((await check('dev-1')).commands?.map((c) => c.id)).toEqual([big.id]);

    // An unknown command.
    const unknown = await upload('diag_00000000000000000000000000', Buffer.from('x'));
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ code: 'HT_DIAG_NOT_FOUND' });

    // The CLI reports errors as CODE: message with a non-zero exit.
    const missing = await cli(server, ['diag', 'show', 'diag_nope', '--app', 'demo']);
    expect(missing.code).toBe(4);
    expect(missing.stderr).toMatch(/^HT_DIAG_NOT_FOUND: /);
    const listed = await cli(server, ['diag', 'list', '--app', 'demo', '--state', 'uploaded', '--json']);
    expect((listed.json() as { commands: { id: string }[] }).commands.map((c) => c.id)).toEqual([cmd.id]);
  });
});
