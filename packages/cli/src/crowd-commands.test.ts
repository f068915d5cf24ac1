import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useCliHarness } from './stub-server.test-helpers.js';

const h = useCliHarness();

describe('halftone crowd', () => {
  const crowd = { name: 'employees', members: ['u1', 'u2', 'u3'], updatedAt: '2025-06-01' };

  it('set --members puts the comma list', async () => {
    h.stub.on('PUT', '/admin/v1/apps/shop/crowds/employees', { status: 200, body: crowd });
    const { code, stdout } = await h.cli([
      'crowd',
      'set',
      'shop',
      'employees',
      '--members',
      'u1,u2, u3',
    ]);
    expect(code).toBe(0);
    expect(h.stub.requests[0]).toMatchObject({
      method: 'PUT',
      path: '/admin/v1/apps/shop/crowds/employees',
      body: { members: ['u1', 'u2', 'u3'] },
    });
    expect(stdout).toBe('Crowd employees of app shop now has 3 members.\n');
  });

  it('set --members-file reads one member per line', async () => {
    await writeFile(join(h.cwd, 'members.txt'), 'u1\r\n  u2  \n\nu3\n');
    h.stub.on('PUT', '/admin/v1/apps/shop/crowds/employees', { status: 200, body: crowd });
    const { code } = await h.cli([
      'crowd',
      'set',
      'shop',
      'employees',
      '--members-file',
      'members.txt',
    ]);
    expect(code).toBe(0);
    expect(h.stub.requests[0]?.body).toEqual({ members: ['u1', 'u2', 'u3'] });
  });

  it.each([
    [[], 'give exactly one of --members or --members-file'],
    [['--members', 'a', '--members-file', 'f'], 'give exactly one of --members or --members-file'],
    [['--members-file', 'missing.txt'], 'cannot read --members-file missing.txt'],
  ])('set %j is a usage error', async (flags, message) => {
    const { code, stderr } = await h.cli(['crowd', 'set', 'shop', 'employees', ...flags]);
    expect(code).toBe(2);
    expect(stderr.startsWith(`HT_CLI_USAGE: ${message}`)).toBe(true);
    expect(h.stub.requests).toEqual([]);
  });

  it('list prints names and member counts', async () => {
    const body = { crowds: [crowd, { name: 'qa', members: [], updatedAt: '2025-06-02' }] };
    h.stub.on('GET', '/admin/v1/apps/shop/crowds', { status: 200, body });
    const { stdout } = await h.cli(['crowd', 'list', 'shop']);
    expect(stdout).toBe(
      'NAME       MEMBERS  UPDATED\nemployees  3        2025-06-01\nqa         0        2025-06-02\n',
    );
    const json = await h.cli(['crowd', 'list', 'shop', '--json']);
    expect(JSON.parse(json.stdout)).toEqual(body);
  });
});
