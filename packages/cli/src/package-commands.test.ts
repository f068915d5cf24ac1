import { describe, expect, it } from 'vitest';
import { useCliHarness } from './stub-server.test-helpers.js';

const h = useCliHarness();

const pkg = {
  id: 'pkg_1',
  appId: 'shop',
  module: 'home',
  version: '1.4.0',
  kind: 'h5',
  platform: 'android',
  size: 2048,
  disabled: false,
  createdAt: '2025-06-01',
};

describe('halftone package', () => {
  it('list passes --module as a query parameter and prints a table', async () => {
    h.stub.on('GET', '/admin/v1/apps/shop/packages', { status: 200, body: { packages: [pkg] } });
    const { code, stdout } = await h.cli(['package', 'list', '--app', 'shop', '--module', 'home']);
    expect(code).toBe(0);
    expect(h.stub.requests[0]?.query).toEqual({ module: 'home' });
    expect(stdout).toContain('ID     MODULE  VERSION  KIND  PLATFORM  SIZE     STATE    CREATED');
    expect(stdout).toContain(
      'pkg_1  home    1.4.0    h5    android   2.0 KiB  enabled  2025-06-01',
    );
  });

  it('list sends no query without --module', async () => {
    h.stub.on('GET', '/admin/v1/apps/shop/packages', { status: 200, body: { packages: [] } });
    const { stdout } = await h.cli(['package', 'list', '--app', 'shop']);
    expect(h.stub.requests[0]?.url).toBe('/admin/v1/apps/shop/packages');
    expect(stdout).toBe('No packages in app shop.\n');
  });

  it.each([['disable'], ['enable']])('%s posts to the package', async (verb) => {
    const body = { ...pkg, disabled: verb === 'disable' };
    h.stub.on('POST', `/admin/v1/packages/pkg_1/${verb}`, { status: 200, body });
    const { code, stdout } = await h.cli(['package', verb, 'pkg_1']);
    expect(code).toBe(0);
    expect(h.stub.requests[0]).toMatchObject({
      method: 'POST',
      path: `/admin/v1/packages/pkg_1/${verb}`,
    });
    expect(stdout).toBe(`Package pkg_1 ${verb}d.\n`);
    const json = await h.cli(['package', verb, 'pkg_1', '--json']);
    expect(JSON.parse(json.stdout)).toEqual(body);
  });
});
