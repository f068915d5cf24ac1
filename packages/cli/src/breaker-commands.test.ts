import { describe, expect, it } from 'vitest';
import { parseRate } from './breaker-commands.js';
import { useCliHarness } from './stub-server.test-helpers.js';

const h = useCliHarness();

const rule = {
  id: 'home-crash',
  scope: 'module',
  target: 'home',
  metric: 'crash',
  threshold: 0.02,
  action: 'disable',
  windowMinutes: 30,
  createdAt: '2026-11-21T08:00:00.000Z',
  fired: [],
};

describe('halftone breaker', () => {
  it('add posts the rule (percent thresholds become rates) and prints it', async () => {
    h.stub.on('POST', '/admin/v1/apps/shop/breakers', { status: 201, body: rule });
    const { code, stdout } = await h.cli([
      'breaker', 'add', '--app', 'shop', '--id', 'home-crash', '--scope', 'module', '--target', 'home',
      '--threshold', '2%', '--action', 'disable', '--min-sessions', '100', '--window-minutes', '15',
    ]);
    expect(code).toBe(0);
    expect(h.stub.requests[0]?.body).toEqual({
      id: 'home-crash', scope: 'module', target: 'home', metric: 'crash', threshold: 0.02, action: 'disable', minSessions: 100, windowMinutes: 15,
    });
    expect(stdout).toBe('Added breaker home-crash  module home  crash > 2%  over 30 min → disable\n');
  });

  it('add refuses an unknown action before calling the server', async () => {
    const { code } = await h.cli(['breaker', 'add', '--app', 'shop', '--id', 'x', '--scope', 'module', '--target', 'home', '--threshold', '0.1', '--action', 'explode']);
    expect(code).toBe(2);
    expect(h.stub.requests.length).toBe(0);
  });

  it('list prints a table, or JSON with --json', async () => {
    const fired = { ...rule, fired: [{ ruleId: 'home-crash', subject: 'rel_1', firedAt: '2026-11-21T09:00:00.000Z' }] };
    h.stub.on('GET', '/admin/v1/apps/shop/breakers', { status: 200, body: { breakers: [fired] } });
    const { stdout } = await h.cli(['breaker', 'list', '--app', 'shop']);
    expect(stdout).toBe(
      'ID          SCOPE   TARGET  METRIC  THRESHOLD  WINDOW  ACTION   FIRED\n' +
        'home-crash  module  home    crash   2%         30m     disable  rel_1@2026-11-21T09:00:00.000Z\n',
    );
    const json = await h.cli(['breaker', 'list', '--app', 'shop', '--json']);
    expect(JSON.parse(json.stdout)).toEqual({ breakers: [fired] });
  });

  it('rm deletes the rule; a missing one is a not-found exit', async () => {
    h.stub.on('DELETE', '/admin/v1/apps/shop/breakers/home-crash', { status: 204 });
    const ok = await h.cli(['breaker', 'rm', '--app', 'shop', 'home-crash']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toBe('Removed breaker home-crash\n');
    const missing = await h.cli(['breaker', 'rm', '--app', 'shop', 'nope']);
    expect(missing.code).not.toBe(0);
  });

  it('parses rates', () => {
    expect(parseRate('0.5', 'x')).toBe(0.5);
    expect(parseRate('1.5%', 'x')).toBeCloseTo(0.015);
  });
});
