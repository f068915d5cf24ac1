import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useCliHarness } from './stub-server.test-helpers.js';

const h = useCliHarness();

const release = {
  id: 'rel_1',
  appId: 'shop',
  module: 'home',
  version: '1.4.0',
  packageId: 'pkg_1',
  stage: 'gray',
  status: 'active',
  percent: 10,
  whitelist: [],
  crowds: ['employees'],
  rule: null,
  mandatory: false,
  grayId: 'g1',
  stickiness: 'deviceId',
  revision: 3,
  createdAt: '2025-06-01',
  updatedAt: '2025-06-02',
};

describe('halftone release create', () => {
  it('posts every option it was given', async () => {
    h.stub.on('POST', '/admin/v1/apps/shop/releases', { status: 201, body: release });
    const rule = { all: [{ attribute: 'platform', operator: 'eq', value: 'ios' }] };
    const { code, stdout } = await h.cli([
      'release',
      'create',
      '--app',
      'shop',
      '--module',
      'home',
      '--version',
      '1.4.0',
      '--platform',
      'ios',
      '--whitelist',
      'u1,u2',
      '--crowd',
      'employees',
      '--crowd',
      'qa,beta',
      '--percent',
      '12.5',
      '--rule',
      JSON.stringify(rule),
      '--mandatory',
      '--gray-id',
      'g1',
      '--stickiness',
      'userId',
      '--description',
      'new home',
    ]);
    expect(code).toBe(0);
    expect(h.stub.requests[0]?.body).toEqual({
      module: 'home',
      version: '1.4.0',
      platform: 'ios',
      whitelist: ['u1', 'u2'],
      crowds: ['employees', 'qa', 'beta'],
      percent: 12.5,
      rule,
      mandatory: true,
      grayId: 'g1',
      stickiness: 'userId',
      description: 'new home',
    });
    expect(stdout).toBe(
      'Created release rel_1  home@1.4.0  stage=gray  status=active  percent=10%\n',
    );
  });

  it('sends only module and version when nothing else is given', async () => {
    h.stub.on('POST', '/admin/v1/apps/shop/releases', { status: 201, body: release });
    await h.cli(['release', 'create', '--app', 'shop', '--module', 'home', '--version', '1.4.0']);
    expect(h.stub.requests[0]?.body).toEqual({ module: 'home', version: '1.4.0' });
  });

  it('sends health gates: a template name with --on-failure, or an inline template from @file.json', async () => {
    h.stub.on('POST', '/admin/v1/apps/shop/releases', { status: 201, body: release });
    const base = ['release', 'create', '--app', 'shop', '--module', 'home', '--version', '1.4.0'];
    expect((await h.cli([...base, '--health', 'cautious', '--on-failure', 'halt'])).code).toBe(0);
    expect(h.stub.requests[0]?.body).toEqual({
      module: 'home',
      version: '1.4.0',
      health: { template: 'cautious', onFailure: 'halt' },
    });
    const inline = { name: 'mine', stages: [{ percent: 5, minSessions: 100, minMinutes: 30 }] };
    await writeFile(join(h.cwd, 'template.json'), JSON.stringify(inline));
    expect((await h.cli([...base, '--health', '@template.json'])).code).toBe(0);
    expect(h.stub.requests[1]?.body).toEqual({ module: 'home', version: '1.4.0', health: { template: inline } });
  });

  it('reads --when @file.json', async () => {
    await writeFile(
      join(h.cwd, 'rule.json'),
      '{"attribute":"channel","operator":"in","values":["gp"]}',
    );
    h.stub.on('POST', '/admin/v1/apps/shop/releases', { status: 201, body: release });
    const { code } = await h.cli([
      'release',
      'create',
      '--app',
      'shop',
      '--module',
      'home',
      '--version',
      '1',
      '--when',
      '@rule.json',
    ]);
    expect(code).toBe(0);
    expect(h.stub.requests[0]?.body).toMatchObject({
      rule: { attribute: 'channel', operator: 'in', values: ['gp'] },
    });
  });

  it.each([
    [['--rule', '{not json'], '--rule is not valid JSON'],
    [['--when', '@missing.json'], 'cannot read --when file missing.json'],
    [['--rule', '{}', '--when', '{}'], '--when is another name for --rule'],
    [['--percent', 'ten'], "option '--percent <p>' argument 'ten' is invalid"],
    [['--stickiness', 'email'], "option '--stickiness <key>' argument 'email' is invalid"],
    [['--on-failure', 'halt'], '--on-failure needs --health'],
    [['--health', 'standard', '--on-failure', 'panic'], "option '--on-failure <action>' argument 'panic' is invalid"],
    [['--health', '{not json'], '--health is not valid JSON'],
    [['--health', '   '], '--health takes a template name'],
    [['--health', '@nope.json'], 'cannot read --health file nope.json'],
  ])('%j is a usage error before any request', async (flags, message) => {
    const { code, stderr } = await h.cli([
      'release',
      'create',
      '--app',
      'shop',
      '--module',
      'home',
      '--version',
      '1',
      ...flags,
    ]);
    expect(code).toBe(2);
    expect(stderr.startsWith(`HT_CLI_USAGE: ${message}`)).toBe(true);
    expect(h.stub.requests).toEqual([]);
  });

  it('with --json prints the release', async () => {
    h.stub.on('POST', '/admin/v1/apps/shop/releases', { status: 201, body: release });
    const { stdout } = await h.cli([
      'release',
      'create',
      '--app',
      'shop',
      '--module',
      'home',
      '--version',
      '1',
      '--json',
    ]);
    expect(JSON.parse(stdout)).toEqual(release);
  });
});

describe('halftone release list and status', () => {
  it('list passes the filters and prints a table', async () => {
    h.stub.on('GET', '/admin/v1/apps/shop/releases', {
      status: 200,
      body: { releases: [release] },
    });
    const { stdout } = await h.cli([
      'release',
      'list',
      '--app',
      'shop',
      '--module',
      'home',
      '--status',
      'active',
    ]);
    expect(h.stub.requests[0]?.query).toEqual({ module: 'home', status: 'active' });
    expect(stdout).toBe(
      'ID     MODULE  VERSION  STAGE  STATUS  PERCENT  UPDATED\n' +
        'rel_1  home    1.4.0    gray   active  10%      2025-06-02\n',
    );
  });

  it('status prints the release line and stages × counters', async () => {
    const counters = (n: number) => ({
      checked: n * 10,
      offered: n * 5,
      downloaded: n * 4,
      installed: n * 3,
      failed: n,
    });
    const body = {
      release,
      stats: { total: counters(3), stages: { gray: counters(2), whitelist: counters(1) } },
    };
    h.stub.on('GET', '/admin/v1/releases/rel_1/status', { status: 200, body });
    const { code, stdout } = await h.cli(['release', 'status', 'rel_1']);
    expect(code).toBe(0);
    expect(stdout).toBe(
      [
        'rel_1  home@1.4.0  stage=gray  status=active  percent=10%',
        '',
        'STAGE      CHECKED  OFFERED  DOWNLOADED  INSTALLED  FAILED',
        'whitelist  10       5        4           3          1',
        'gray       20       10       8           6          2',
        'total      30       15       12          9          3',
        '',
      ].join('\n'),
    );
    const json = await h.cli(['release', 'status', 'rel_1', '--json']);
    expect(JSON.parse(json.stdout)).toEqual(body);
  });

  it('status adds the health state, the last verdict and recent decisions when the release has a policy', async () => {
    const body = { release, stats: { total: { checked: 1, offered: 1, downloaded: 1, installed: 1, failed: 0 }, stages: {} } };
    const health = {
      releaseId: 'rel_1',
      policy: { template: 'standard', onFailure: 'rollback' },
      stageIndex: 2,
      stage: { name: '1%' },
      stageStartedAt: '2026-11-21T08:00:00.000Z',
      state: 'halted',
      lastVerdict: { decision: 'halt', reason: 'crash rate 3.00% is above the 1.09% ceiling', at: '2026-11-21T08:02:00.000Z' },
      decisions: [
        { kind: 'rollback', stage: '1%', reason: 'rolled back after the halt', createdAt: '2026-11-21T08:02:00.000Z' },
        { kind: 'halt', stage: '1%', reason: 'crash rate 3.00% is above the 1.09% ceiling', createdAt: '2026-11-21T08:02:00.000Z' },
      ],
      feedbackWatch: ['crash'],
      feedbackAlerts: [{ kind: 'feedback_alert', stage: '1%', reason: 'feedback matches "crash"', createdAt: '2026-11-21T08:01:00.000Z' }],
    };
    h.stub.on('GET', '/admin/v1/releases/rel_1/status', { status: 200, body });
    h.stub.on('GET', '/admin/v1/releases/rel_1/health', { status: 200, body: health });
    const { code, stdout } = await h.cli(['release', 'status', 'rel_1']);
    expect(code).toBe(0);
    expect(stdout).toContain('health: state=halted  template=standard  stage=1%  since=2026-11-21T08:00:00.000Z  onFailure=rollback');
    expect(stdout).toContain('last verdict: halt at 2026-11-21T08:02:00.000Z: crash rate 3.00% is above the 1.09% ceiling');
    expect(stdout).toContain('AT                        DECISION  STAGE  REASON\n2026-11-21T08:02:00.000Z  rollback  1%     rolled back after the halt');
    expect(stdout).toContain('feedback matches "crash"');
    const json = await h.cli(['release', 'status', 'rel_1', '--json']);
    expect(JSON.parse(json.stdout)).toEqual({ ...body, health });
  });
});

describe('halftone release verbs', () => {
  it.each([['advance'], ['halt'], ['resume'], ['rollback']])(
    '%s posts {} and prints the release',
    async (verb) => {
      h.stub.on('POST', `/admin/v1/releases/rel_1/${verb}`, { status: 200, body: release });
      const { code, stdout } = await h.cli(['release', verb, 'rel_1']);
      expect(code).toBe(0);
      expect(h.stub.requests[0]).toMatchObject({
        method: 'POST',
        path: `/admin/v1/releases/rel_1/${verb}`,
        body: {},
      });
      expect(stdout).toBe('rel_1  home@1.4.0  stage=gray  status=active  percent=10%\n');
    },
  );

  it('set-percent posts a number', async () => {
    h.stub.on('POST', '/admin/v1/releases/rel_1/percent', {
      status: 200,
      body: { ...release, percent: 50 },
    });
    const { code, stdout } = await h.cli(['release', 'set-percent', 'rel_1', '50']);
    expect(code).toBe(0);
    expect(h.stub.requests[0]?.body).toEqual({ percent: 50 });
    expect(stdout).toContain('percent=50%');
  });

  it('set-percent refuses a non-number without a request', async () => {
    const { code, stderr } = await h.cli(['release', 'set-percent', 'rel_1', 'half']);
    expect(code).toBe(2);
    expect(stderr).toBe('HT_CLI_USAGE: PERCENT must be a number, got "half"\n');
    expect(h.stub.requests).toEqual([]);
  });

  it('maps a precondition failure to exit 5', async () => {
    h.stub.on('POST', '/admin/v1/releases/rel_1/advance', {
      status: 409,
      body: {
        title: 'Conflict',
        status: 409,
        code: 'HT_RELEASE_NOT_ACTIVE',
        detail: 'Release rel_1 is halted',
      },
    });
    const { code, stderr } = await h.cli(['release', 'advance', 'rel_1']);
    expect(code).toBe(5);
    expect(stderr).toBe('HT_RELEASE_NOT_ACTIVE: Release rel_1 is halted\n');
  });
});

describe('halftone release update', () => {
  it('patches only what it was given', async () => {
    h.stub.on('PATCH', '/admin/v1/releases/rel_1', { status: 200, body: release });
    const { code, stdout } = await h.cli([
      'release', 'update', 'rel_1', '--crowd', 'staff,qa', '--rule',
      '{"attribute":"channel","operator":"eq","value":"huawei"}', '--not-mandatory',
    ]);
    expect(code).toBe(0);
    expect(h.stub.requests[0]?.body).toEqual({
      crowds: ['staff', 'qa'],
      rule: { attribute: 'channel', operator: 'eq', value: 'huawei' },
      mandatory: false,
    });
    expect(stdout).toContain('Updated release rel_1');
  });

  it('clears the rule, and refuses an empty change without a request', async () => {
    h.stub.on('PATCH', '/admin/v1/releases/rel_1', { status: 200, body: release });
    await h.cli(['release', 'update', 'rel_1', '--clear-rule']);
    expect(h.stub.requests[0]?.body).toEqual({ rule: null });
    const { code, stderr } = await h.cli(['release', 'update', 'rel_1']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/^HT_CLI_USAGE: nothing to change/);
    expect(h.stub.requests).toHaveLength(1);
  });
});
