import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FAST_TEMPLATE, STANDARD_TEMPLATE } from '@halftone/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createFakeClock } from '../../platform/clock.js';
import { isHalftoneError } from '../../platform/errors/halftone-error.js';
import { createClockControl } from './health-clock.js';
import { matchKeywords, nextState, releaseTargetFor, shouldRecord } from './health-logic.js';
import { WebhookDispatcher, safeUrl, signature } from './health-webhooks.js';

describe('mapping template stages onto release stages', () => {
  it('maps whitelist, internal, percentage (gray with a rule) and full', () => {
    const noRule = { rule: null };
    expect(STANDARD_TEMPLATE.stages.map((s) => releaseTargetFor(s, noRule))).toEqual([
      { stage: 'whitelist', percent: 0 },
      { stage: 'internal', percent: 0 },
      { stage: 'percentage', percent: 1 },
      { stage: 'percentage', percent: 5 },
      { stage: 'percentage', percent: 20 },
      { stage: 'percentage', percent: 50 },
      { stage: 'full', percent: 100 },
    ]);
    const withRule = { rule: { all: [] } };
    expect(FAST_TEMPLATE.stages.map((s) => releaseTargetFor(s, withRule))).toEqual([
      { stage: 'internal', percent: 0 },
      { stage: 'gray', percent: 10 },
      { stage: 'gray', percent: 50 },
      { stage: 'full', percent: 100 },
    ]);
  });
});

describe('decision recording rules', () => {
  it('records the first look, every change of decision or stage, and every state change', () => {
    expect(shouldRecord(null, { decision: 'hold', stageIndex: 0 }, false)).toBe(true);
    const last = { decision: 'hold' as const, stageIndex: 0 };
    expect(shouldRecord(last, { decision: 'hold', stageIndex: 0 }, false)).toBe(false);
    expect(shouldRecord(last, { decision: 'await_confirmation', stageIndex: 0 }, false)).toBe(true);
    expect(shouldRecord(last, { decision: 'hold', stageIndex: 1 }, false)).toBe(true);
    expect(shouldRecord(last, { decision: 'hold', stageIndex: 0 }, true)).toBe(true);
  });

  it('moves states: halt and complete are final, hold changes nothing', () => {
    expect(nextState('running', 'hold', false)).toBe('running');
    expect(nextState('awaiting_confirmation', 'hold', false)).toBe('awaiting_confirmation');
    expect(nextState('running', 'await_confirmation', false)).toBe('awaiting_confirmation');
    expect(nextState('awaiting_confirmation', 'halt', false)).toBe('halted');
    expect(nextState('running', 'advance', false)).toBe('running');
    expect(nextState('running', 'advance', true)).toBe('completed');
    expect(nextState('halted', 'advance', false)).toBe('halted');
    expect(nextState('completed', 'halt', true)).toBe('completed');
  });
});

describe('feedback keyword matching', () => {
  it('matches words case-insensitively with inflections, and CJK as substrings', () => {
    expect(matchKeywords('App CRASHED on login!', ['crash', 'login', 'logout'])).toEqual(['crash', 'login']);
    expect(matchKeywords('it keeps crashing', ['crash'])).toEqual(['crash']);
    expect(matchKeywords('smash the crashpad', ['crash', 'ash'])).toEqual([]);
    expect(matchKeywords('打开就闪退了，白屏', ['闪退', '白屏', '卡顿'])).toEqual(['闪退', '白屏']);
    expect(matchKeywords('アプリがクラッシュした', ['クラッシュ'])).toEqual(['クラッシュ']);
    expect(matchKeywords('price is $5 (really)', ['$5', '(really)'])).toEqual(['$5', '(really)']);
    expect(matchKeywords('anything', ['  ', ''])).toEqual([]);
  });
});

describe('the clock control', () => {
  const code = (fn: () => void) => {
    try {
      fn();
    } catch (err) {
      return isHalftoneError(err) ? err.code : String(err);
    }
    return undefined;
  };
  it('refuses to set the system clock', () => {
    const c = createClockControl('system');
    expect(c.mode).toBe('system');
    expect(code(() => c.set(new Date()))).toBe('HT_CLOCK_NOT_MANUAL');
  });
  it('moves a manual clock forward only', () => {
    const c = createClockControl('manual', { start: new Date('2026-01-01T00:00:00Z') });
    expect(c.now().toISOString()).toBe('2026-01-01T00:00:00.000Z');
    c.set(new Date('2026-01-01T01:00:00Z'));
    c.set(new Date('2026-01-01T01:00:00Z'));
    expect(c.now().toISOString()).toBe('2026-01-01T01:00:00.000Z');
    expect(code(() => c.set(new Date('2026-01-01T00:30:00Z')))).toBe('HT_CLOCK_BACKWARDS');
  });
  it('uses a settable clock given by a test', () => {
    const fake = createFakeClock(new Date('2030-01-01T00:00:00Z'));
    const c = createClockControl('manual', { clock: fake });
    c.set(new Date('2030-01-02T00:00:00Z'));
    expect(fake.now().toISOString()).toBe('2030-01-02T00:00:00.000Z');
  });
});

describe('webhook deliveries', () => {
  let server: Server | undefined;
  afterEach(async () => {
    if (server) await new Promise((r) => server?.close(r));
    server = undefined;
  });

  it('signs, retries with backoff until the receiver accepts, and logs no secret', async () => {
    let calls = 0;
    const bodies: { sig: string | undefined; body: string }[] = [];
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        calls++;
        bodies.push({ sig: req.headers['x-halftone-signature'] as string | undefined, body: Buffer.concat(chunks).toString() });
        res.writeHead(calls < 3 ? 503 : 200).end();
      });
    });
    await new Promise<void>((r) => server?.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/h?key=q`;
    const logs: string[] = [];
    const w = new WebhookDispatcher({
      targets: [{ url, secret: 'topsecret' }, { url: 'http://127.0.0.1:1/closed' }],
      maxAttempts: 3,
      backoffMs: 5,
      timeoutMs: 1000,
      log: (_l, msg, data) => logs.push(`${msg} ${JSON.stringify(data)}`),
    });
    w.send('hdec_1', 'health.halt', { kind: 'halt', n: 1 });
    await w.idle();
    expect(calls).toBe(3);
    const last = bodies.at(-1);
    expect(last?.sig).toBe(signature('topsecret', last?.body ?? ''));
    expect(JSON.parse(last?.body ?? '{}')).toEqual({ kind: 'halt', n: 1 });
    const text = logs.join('\n');
    expect(text).toMatch(/giving up/);
    expect(text).not.toMatch(/topsecret|pw|key=q/);
    expect(safeUrl('https://a:b@x.example.com/p?q=1')).toBe('https://x.example.com/p');
    w.close();
  });
});
