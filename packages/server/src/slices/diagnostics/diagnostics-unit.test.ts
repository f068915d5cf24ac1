import { describe, expect, it } from 'vitest';
import { createFakeClock } from '../../platform/clock.js';
import {
  cancelRefusal,
  type DiagnosticCommand,
  DIAGNOSTIC_STATES,
  effectiveState,
  stateHistory,
  targets,
  uploadRefusal,
} from './diagnostic-command.js';
import { DiagnosticsFeed, MAX_COMMANDS_PER_CHECK } from './diagnostics-feed.js';
import { paramsOf } from './diagnostics-service.js';
import type { Delivery, DiagnosticsStore } from './diagnostics-store.js';

const T0 = '2026-11-21T08:00:00.000Z';
const at = (ms: number) => new Date(Date.parse(T0) + ms).toISOString();
const cmd = (over: Partial<DiagnosticCommand> = {}): DiagnosticCommand => ({
  id: 'diag_1',
  appId: 'demo',
  targetType: 'device',
  targetId: 'dev-1',
  kind: 'upload_logs',
  params: { sinceHours: 24 },
  note: null,
  state: 'pending',
  createdAt: T0,
  expiresAt: at(60_000),
  deliveredAt: null,
  deliveredTo: null,
  uploadedAt: null,
  cancelledAt: null,
  expiredAt: null,
  upload: null,
  ...over,
});
const before = new Date(at(59_999));
const after = new Date(at(60_000));

describe('diagnostic command states', () => {
  it('reads open commands past their expiry as expired; final states never change', () => {
    expect(effectiveState(cmd(), before)).toBe('pending');
    expect(effectiveState(cmd(), after)).toBe('expired');
    expect(effectiveState(cmd({ state: 'delivered' }), after)).toBe('expired');
    for (const state of ['uploaded', 'cancelled', 'expired'] as const) {
      expect(effectiveState(cmd({ state }), before)).toBe(state);
      expect(effectiveState(cmd({ state }), after)).toBe(state);
    }
  });

  it('allows an upload only while open: 409 uploaded, 410 cancelled or expired', () => {
    expect(uploadRefusal(cmd(), before)).toBeNull();
    expect(uploadRefusal(cmd({ state: 'delivered' }), before)).toBeNull();
    const codes = (state: DiagnosticCommand['state'], now: Date) => {
      const err = uploadRefusal(cmd({ state }), now);
      return err === null ? null : [err.code, err.status];
    };
    expect(codes('uploaded', before)).toEqual(['HT_DIAG_ALREADY_UPLOADED', 409]);
    expect(codes('cancelled', before)).toEqual(['HT_DIAG_CANCELLED', 410]);
    expect(codes('expired', before)).toEqual(['HT_DIAG_EXPIRED', 410]);
    expect(codes('delivered', after)).toEqual(['HT_DIAG_EXPIRED', 410]);
  });

  it('cancels open and cancelled commands, refuses uploaded and expired ones', () => {
    const refused = DIAGNOSTIC_STATES.filter((state) => cancelRefusal(cmd({ state }), before) !== null);
    expect(refused).toEqual(['uploaded', 'expired']);
    expect(cancelRefusal(cmd(), after)?.code).toBe('HT_DIAG_NOT_CANCELLABLE');
  });

  it('lists the history in order, with the computed expiry', () => {
    expect(stateHistory(cmd(), before)).toEqual([{ state: 'pending', at: T0 }]);
    expect(stateHistory(cmd({ state: 'delivered', deliveredAt: at(5) }), after)).toEqual([
      { state: 'pending', at: T0 },
      { state: 'delivered', at: at(5) },
      { state: 'expired', at: at(60_000) },
    ]);
    expect(
      stateHistory(cmd({ state: 'uploaded', deliveredAt: at(5), uploadedAt: at(9) }), after).map((h) => h.state),
    ).toEqual(['pending', 'delivered', 'uploaded']);
    expect(stateHistory(cmd({ state: 'cancelled', cancelledAt: at(9) }), after).map((h) => h.state)).toEqual([
      'pending',
      'cancelled',
    ]);
  });

  it('targets a device by device id, a user by user id only', () => {
    expect(targets(cmd(), 'dev-1', undefined)).toBe(true);
    expect(targets(cmd(), 'dev-2', 'dev-1')).toBe(false);
    const user = cmd({ targetType: 'user', targetId: 'alice' });
    expect(targets(user, 'any', 'alice')).toBe(true);
    expect(targets(user, 'alice', undefined)).toBe(false);
    expect(targets(user, 'alice', '')).toBe(false);
  });

  it('checks parameters against the kind', () => {
    expect(paramsOf({ kind: 'upload_logs', sinceHours: 3 })).toEqual({ sinceHours: 3 });
    expect(paramsOf({ kind: 'upload_crash_dumps' })).toEqual({});
    expect(paramsOf({ kind: 'custom', payload: { x: 1 } })).toEqual({ x: 1 });
    expect(() => paramsOf({ kind: 'upload_logs' })).toThrow(/parameters/);
    expect(() => paramsOf({ kind: 'custom', payload: { x: 'y'.repeat(5000) } })).toThrow();
  });
});

describe('DiagnosticsFeed', () => {
  const setup = (open: DiagnosticCommand[]) => {
    const clock = createFakeClock(new Date(T0));
    const written: Delivery[][] = [];
    let loads = 0;
    const store: Pick<DiagnosticsStore, 'listOpen' | 'markDelivered'> = {
      async listOpen() {
        loads++;
        return open;
      },
      async markDelivered(d) {
        written.push([...d]);
        return d.length;
      },
    };
    const feed = new DiagnosticsFeed({ store, clock });
    return { feed, clock, written, loads: () => loads };
  };

  it('loads an app once, answers warm checks synchronously, and queues each first delivery once', async () => {
    const s = setup([cmd(), cmd({ id: 'diag_2', targetType: 'user', targetId: 'alice', state: 'delivered' })]);
    const first = await s.feed.feedJson('demo', 'dev-1', 'alice', 'https://h.example');
    expect(JSON.parse(first)).toEqual([
      { id: 'diag_1', kind: 'upload_logs', params: { sinceHours: 24 }, expiresAt: at(60_000), uploadUrl: 'https://h.example/client/v1/diagnostics/diag_1' },
      { id: 'diag_2', kind: 'upload_logs', params: { sinceHours: 24 }, expiresAt: at(60_000), uploadUrl: 'https://h.example/client/v1/diagnostics/diag_2' },
    ]);
    expect(typeof s.feed.feedJson('demo', 'dev-2', undefined, 'x')).toBe('string');
    expect(s.feed.feedJson('demo', 'dev-2', undefined, 'x')).toBe('');
    s.feed.feedJson('demo', 'dev-1', undefined, 'x');
    expect(s.loads()).toBe(1);
    await s.feed.flush();
    expect(s.written).toEqual([[{ id: 'diag_1', at: T0, deviceId: 'dev-1' }]]);
    await s.feed.flush();
    expect(s.written).toHaveLength(1);
    // Invalidation reloads; a stored delivery is not queued again.
    s.feed.invalidate('demo');
    await s.feed.feedJson('demo', 'dev-1', undefined, 'x');
    expect(s.loads()).toBe(2);
  });

  it('skips expired commands, escapes the base URL and caps the answer', async () => {
    const many = Array.from({ length: MAX_COMMANDS_PER_CHECK + 5 }, (_, i) => cmd({ id: `diag_${i}` }));
    const s = setup(many);
    const json = await s.feed.feedJson('demo', 'dev-1', undefined, 'http://a"b');
    const list = JSON.parse(json) as { uploadUrl: string }[];
    expect(list).toHaveLength(MAX_COMMANDS_PER_CHECK);
    expect(list[0]?.uploadUrl).toBe('http://a"b/client/v1/diagnostics/diag_0');
    s.clock.advance(60_000);
    expect(s.feed.feedJson('demo', 'dev-1', undefined, 'x')).toBe('');
  });
});
