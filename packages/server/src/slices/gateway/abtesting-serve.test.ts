import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type RunningHalftone, serve } from '../../serve.js';
import { quoteLongIntegers } from './abtesting-admin.js';

const TOKEN = 'hat_test_token_0123456789';

describe('serve() with the ABTestingGateway admin dialects', () => {
  let running: RunningHalftone | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await running?.close();
    running = undefined;
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  async function start(gatewayAdminCompat: boolean): Promise<RunningHalftone> {
    dir = mkdtempSync(join(tmpdir(), 'halftone-ab-'));
    running = await serve({
      dataDir: dir,
      port: 0,
      host: '127.0.0.1',
      gatewayPort: 0,
      gatewayAdminCompat,
      handleSignals: false,
      print: () => {},
      env: { HALFTONE_ADMIN_TOKEN: TOKEN, HALFTONE_LOG_LEVEL: 'silent' },
    });
    return running;
  }

  it('--gateway-admin-compat: the gateway port answers loopback peers without a token; the admin port needs it', async () => {
    const r = await start(true);
    let res = await fetch(`${r.gatewayUrl ?? ''}/ab_admin?action=runtime_get&hostname=api.weibo.cn`);
    expect(await res.json()).toEqual({ code: 200, desc: 'success ', data: { divsteps: 0, runtimegroup: {} } });
    res = await fetch(`${r.url}/ab_admin?action=runtime_get&hostname=api.weibo.cn`);
    expect(res.status).toBe(401);
    res = await fetch(`${r.url}/admin/runtime/get?hostname=api.weibo.cn`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(await res.json()).toEqual({ errcode: 200, errinfo: 'success ', data: { divsteps: 0, runtimegroup: {} } });
  });

  it('without it, the gateway port proxies those paths like any other', async () => {
    const r = await start(false);
    const res = await fetch(`${r.gatewayUrl ?? ''}/ab_admin?action=runtime_get&hostname=api.weibo.cn`);
    expect(res.status).toBe(502); // no default upstream configured
  });
});

describe('quoteLongIntegers', () => {
  it('keeps long integer literals as their source text, and nothing else', () => {
    const src = '{"uidset":[223456789012345678,-1234567890123456,12,1.5,123456789012345678.5,1e300],"s":"123456789012345678\\"9"}';
    const parsed = JSON.parse(quoteLongIntegers(src)) as { uidset: unknown[]; s: string };
    expect(parsed.uidset).toEqual(['223456789012345678', '-1234567890123456', 12, 1.5, 123456789012345678.5, 1e300]);
    expect(parsed.s).toBe('123456789012345678"9');
  });
});
