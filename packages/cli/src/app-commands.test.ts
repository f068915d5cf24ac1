import { describe, expect, it } from 'vitest';
import { useCliHarness } from './stub-server.test-helpers.js';

const h = useCliHarness();

const created = {
  id: 'shop',
  name: 'Shop',
  platforms: ['android', 'ios'],
  clientKey: 'ck_123',
  createdAt: '2025-06-01T10:00:00.000Z',
};

describe('halftone app', () => {
  it('create posts id, name and platforms (repeated or comma list)', async () => {
    h.stub.on('POST', '/admin/v1/apps', { status: 201, body: created });
    for (const flags of [
      ['--platform', 'android', '--platform', 'ios'],
      ['--platform', 'android,ios'],
      ['--platform', 'android, ios', '--platform', 'ios'],
    ]) {
      h.stub.requests.splice(0);
      const { code, stdout } = await h.cli(['app', 'create', 'shop', ...flags, '--name', 'Shop']);
      expect(code).toBe(0);
      expect(h.stub.requests).toHaveLength(1);
      const req = h.stub.requests[0];
      expect(req?.method).toBe('POST');
      expect(req?.path).toBe('/admin/v1/apps');
      expect(req?.headers['content-type']).toBe('application/json');
      expect(req?.body).toEqual({ id: 'shop', name: 'Shop', platforms: ['android', 'ios'] });
      expect(stdout).toContain('Created app shop');
      expect(stdout).toContain('client key: ck_123');
    }
  });

  it('create leaves out a name that was not given', async () => {
    h.stub.on('POST', '/admin/v1/apps', { status: 201, body: created });
    await h.cli(['app', 'create', 'shop', '--platform', 'ios']);
    expect(h.stub.requests[0]?.body).toEqual({ id: 'shop', platforms: ['ios'] });
  });

  it('create --json prints the response body only', async () => {
    h.stub.on('POST', '/admin/v1/apps', { status: 201, body: created });
    const { stdout } = await h.cli(['app', 'create', 'shop', '--platform', 'ios', '--json']);
    expect(JSON.parse(stdout)).toEqual(created);
  });

  it('list prints a table', async () => {
    h.stub.on('GET', '/admin/v1/apps', {
      status: 200,
      body: { apps: [created, { id: 'news', platforms: ['ios'], createdAt: '2025-06-02' }] },
    });
    const { code, stdout } = await h.cli(['app', 'list']);
    expect(code).toBe(0);
    expect(stdout.split('\n')).toEqual([
      'ID    NAME  PLATFORMS    CREATED',
      'shop  Shop  android,ios  2025-06-01T10:00:00.000Z',
      'news  -     ios          2025-06-02',
      '',
    ]);
  });

  it('list says so when there are no apps', async () => {
    h.stub.on('GET', '/admin/v1/apps', { status: 200, body: { apps: [] } });
    expect((await h.cli(['app', 'list'])).stdout).toBe('No apps.\n');
  });

  it('show encodes the id in the path', async () => {
    h.stub.on('GET', '/admin/v1/apps/my%20app', {
      status: 200,
      body: { ...created, id: 'my app' },
    });
    const { code, stdout } = await h.cli(['app', 'show', 'my app']);
    expect(code).toBe(0);
    expect(h.stub.requests[0]?.url).toBe('/admin/v1/apps/my%20app');
    expect(stdout).toContain('id:         my app');
  });
});
