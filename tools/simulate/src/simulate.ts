/**
 * The fleet simulator: drives a real Halftone server, only through its HTTP APIs, with a manual
 * clock and thousands of simulated devices, and reports whether the server's health engine
 * halted, held or advanced a candidate release.
 *
 * The model (every draw from one seeded PRNG, so a run replays exactly):
 *
 * - **App and modules.** One app with `releases` modules (`m00`, `m01`, …). Each module has a
 *   baseline `1.0.0` released to everybody (stage full) and a candidate `2.0.0` released with a
 *   health template; the server's engine walks it through the template's stages.
 * - **Independent releases.** Each module is an H5 / mini-program package with its own sessions:
 *   a device's session runs in one module, and its event batch names only that module in the
 *   header's `modules` map, so it counts for that module's release and nothing else. Each
 *   release has its own `grayId` (its cohort is an independent hash of the device ids) and its
 *   own crash draws. So R modules released at once are R independent trials run on one server,
 *   one clock and one fleet — the way to judge 50 releases for the price of one run. (Full-app
 *   sessions naming every module would be the other model: a crash would count against all
 *   modules, cohorts would share their baseline, and each batch would fan out to R rollups.)
 * - **Devices.** `devices` devices (`sim-d00000`, …); the first `whitelist` are staff, named in
 *   every release's whitelist. Each device has a session rate (`sessionsPerHour` × a per-device
 *   factor in [0.5, 1.5]) per module, a device model, a check phase and a flush phase. It checks
 *   `/client/v1/check` every `checkIntervalMinutes` (listing every module with the version it
 *   runs); on `update` it installs the candidate and reports download + install (with
 *   `fromVersion`) to `/client/v1/report`; on `rollback` it goes back. Every
 *   `flushIntervalMinutes` it sends what it buffered to `/client/v1/events`: one batch per
 *   (module, version), sessions as start + end items (`exited` or `crashed`, plus a `crash` item),
 *   UUIDv7 ids, `sent_at` = the server's clock.
 * - **Crashes.** A session crashes with `releaseCrashRate` on the candidate and
 *   `baselineCrashRate` on the baseline, independently.
 * - **Baseline sample.** Devices on the candidate send every session. Of the devices on the
 *   baseline, a fixed random `baselineSample` share of (device, module) pairs send theirs (the
 *   others run sessions nobody needs to transmit): the baseline's crash rate is unbiased, it is
 *   only smaller than the real fleet's, which makes the comparison *less* powerful, never less
 *   honest. Every device still checks, so cohorts are the server's real cohorts of the fleet.
 * - **Clock and judgement.** Each tick (`tickMinutes`) moves the server clock
 *   (`PUT /admin/v1/clock`), runs the due checks and flushes, and every `evaluateEveryMinutes`
 *   asks for an evaluation pass (`POST /admin/v1/health/evaluate`). Stages awaiting confirmation
 *   are confirmed (a releaser who always says yes). A release stops being simulated when it is
 *   halted, when its rollout reaches `untilPercent` (100 = full), or at `maxMinutes`.
 * - **After a halt**, every device that installed the candidate checks at once and must be told
 *   `rollback` to `1.0.0` (the server rolls back on `onFailure: 'rollback'`; with `'halt'` the
 *   simulator rolls back as a releaser would); devices that never took it must not be offered it.
 */
import { storedZip } from './zip.js';
import { HttpClient, HttpError, pool } from './http.js';
import { Random, hash32 } from './prng.js';
import { startSimServer, type SimServer } from './server.js';
import { uuidv7 } from './uuid.js';

/**
 * The small template the tests use: 1 % → 5 % → full with smaller minimum exposures than
 * `standard` (sized for a simulated fleet of a few thousand devices), and the default gates
 * untouched: ceilings judged on Wilson bounds at α 0.001 from 50 sessions, the always-valid
 * sequential comparison at α 0.001 per metric per stage, and no comparison at all on a baseline
 * under 1,000 sessions. The 1 % stage advances only when the candidate is shown not worse than 2×
 * the baseline (margin 100 %, as in `standard`), the 5 % stage not worse than 1.5×. No whitelist
 * stage: it would only cost simulated hours of baseline traffic (`--template standard` walks one).
 */
export const SIM_TEMPLATE = {
  name: 'sim-small',
  description: '1% → 5% → full, small exposures for a simulated fleet of a few thousand devices',
  stages: [
    { kind: 'percentage', percent: 1, minExposure: { sessions: 1000, devices: 15, minutes: 60 }, comparison: { nonInferiorityMargin: 1 } },
    { kind: 'percentage', percent: 5, minExposure: { sessions: 3000, devices: 75, minutes: 120 }, comparison: { nonInferiorityMargin: 0.5 } },
    { kind: 'full', minExposure: { sessions: 0, devices: 0, minutes: 120 } },
  ],
} as const;

export interface SimulationOptions {
  /** Fleet size. */
  readonly devices: number;
  readonly baselineCrashRate: number;
  readonly releaseCrashRate: number;
  readonly seed: number;
  /** A built-in template name (`standard`, `cautious`, `fast`), `sim` (SIM_TEMPLATE) or an inline template. */
  readonly template?: string | object;
  /** Modules released at once, each an independent release. Default 1. */
  readonly releases?: number;
  /** Use this server instead of starting one (it must run with HALFTONE_CLOCK_MODE=manual). */
  readonly url?: string;
  readonly token?: string;
  /** Sessions per device per module per hour (mean). Default 6. */
  readonly sessionsPerHour?: number;
  /** Default 120. */
  readonly checkIntervalMinutes?: number;
  /** Default 60. */
  readonly flushIntervalMinutes?: number;
  /** Default 5. */
  readonly tickMinutes?: number;
  /** Default 10. */
  readonly evaluateEveryMinutes?: number;
  /** Simulated time limit. Default 2 days. */
  readonly maxMinutes?: number;
  /** Share of baseline (device, module) pairs whose sessions are sent. Default 0.05. */
  readonly baselineSample?: number;
  /** Staff devices whitelisted in every release. Default 5. */
  readonly whitelist?: number;
  readonly onFailure?: 'halt' | 'rollback';
  /** A release stops being simulated once its rollout reaches this percent. Default 100. */
  readonly untilPercent?: number;
  /** Concurrent HTTP senders. Default 4. */
  readonly senders?: number;
  /** Where the server's manual clock starts (own server only). */
  readonly clockStart?: string;
  /** Progress lines (stderr in the CLI). */
  readonly log?: (line: string) => void;
}

/** One decision of the health engine, as the simulator records it. */
export interface SimDecision {
  readonly minute: number;
  readonly releaseId: string;
  readonly module: string;
  readonly decision: string;
  readonly stage: string | null;
  readonly reason: string;
  readonly gates?: unknown;
}

export interface ReleaseOutcome {
  readonly module: string;
  readonly releaseId: string;
  halted: boolean;
  haltedAtStage: string | null;
  haltMinute: number | null;
  /** Candidate sessions sent up to the halt. */
  sessionsAtHalt: number | null;
  maxPercentReached: number;
  stage: string;
  state: string | null;
  devicesExposed: number;
  sessionsExposed: number;
  crashesExposed: number;
  baselineSessions: number;
  baselineCrashes: number;
  /** Why the simulation of this release ended. */
  end: 'halted' | 'reached' | 'time_limit';
  rollback: RollbackCheck | null;
  /** The engine's latest verdict on it: decision and reason. */
  lastVerdict: { readonly minute: number; readonly decision: string; readonly reason: string } | null;
}

export interface RollbackCheck {
  /** Devices that reported installing the candidate. */
  readonly installers: number;
  /** Of those, how many `/client/v1/check` told to roll back to the baseline version. */
  readonly toldToRollBack: number;
  /** Devices that never took the candidate, checked after the halt, and how many were offered it. */
  readonly othersChecked: number;
  readonly othersOffered: number;
}

export interface SimulationResult {
  readonly halted: boolean;
  readonly haltedAtStage: string | null;
  readonly maxPercentReached: number;
  readonly devicesExposed: number;
  readonly sessionsExposed: number;
  readonly simulatedMinutes: number;
  readonly timeToHalt: { readonly minutes: number; readonly sessions: number } | null;
  readonly halts: number;
  readonly rollback: RollbackCheck | null;
  readonly decisions: SimDecision[];
  readonly releases: ReleaseOutcome[];
  readonly totals: {
    readonly sessionsSent: number;
    readonly itemsSent: number;
    readonly http: Record<string, number>;
    readonly wallSeconds: number;
  };
}

const BASE = '1.0.0';
const CANDIDATE = '2.0.0';
const MODELS = ['Pixel 8', 'Pixel 7a', 'Galaxy S24', 'Galaxy A15', 'Redmi Note 13', 'Mate 60', 'iPhone 15', 'Moto G54'];

interface EventItem {
  readonly id: string;
  readonly type: string;
  readonly ts: number;
  readonly [k: string]: unknown;
}

interface Device {
  readonly id: string;
  readonly model: string;
  readonly rate: number;
  readonly checkPhase: number;
  readonly flushPhase: number;
  /** Version per module index. */
  readonly versions: string[];
  /** Buffered items per `moduleIndex:version`. */
  readonly buffer: Map<string, EventItem[]>;
  /** Pending /client/v1/report events. */
  readonly reports: object[];
}

interface ModuleState {
  readonly index: number;
  readonly name: string;
  readonly releaseId: string;
  /** Devices running the candidate now. */
  readonly onCandidate: Set<number>;
  /** Devices that reported installing the candidate (ever). */
  readonly installers: Set<number>;
  readonly exposed: Set<number>;
  active: boolean;
  readonly outcome: ReleaseOutcome;
}

const TEMPLATE_NAMES = new Set(['standard', 'cautious', 'fast']);

function resolveTemplate(t: string | object | undefined): string | object {
  if (t === undefined || t === 'sim') return SIM_TEMPLATE;
  if (typeof t === 'string' && !TEMPLATE_NAMES.has(t)) throw new Error(`unknown template "${t}" (standard, cautious, fast, sim)`);
  return t;
}

interface EvaluateAnswer {
  readonly evaluated?: number;
  readonly decisions?: readonly {
    readonly releaseId: string;
    readonly decision: string;
    readonly stage?: string | null;
    readonly reason?: string;
    readonly gates?: unknown;
  }[];
}

interface ReleaseView {
  readonly id: string;
  readonly stage: string;
  readonly percent: number;
  readonly status: string;
}

/** Runs one simulation; starts (and stops) its own server unless `url` is given. */
export async function runSimulation(opts: SimulationOptions): Promise<SimulationResult> {
  const wallStart = performance.now();
  const R = opts.releases ?? 1;
  const N = opts.devices;
  const lambda = opts.sessionsPerHour ?? 6;
  const checkEvery = opts.checkIntervalMinutes ?? 120;
  const flushEvery = opts.flushIntervalMinutes ?? 60;
  const tick = opts.tickMinutes ?? 5;
  const evalEvery = opts.evaluateEveryMinutes ?? 10;
  const maxMinutes = opts.maxMinutes ?? 2 * 24 * 60;
  const sample = opts.baselineSample ?? 0.05;
  const staff = Math.min(opts.whitelist ?? 5, N);
  const onFailure = opts.onFailure ?? 'rollback';
  const untilPercent = opts.untilPercent ?? 100;
  const senders = opts.senders ?? 4;
  const template = resolveTemplate(opts.template);
  const log = opts.log ?? (() => {});
  if (!(N > 0 && R > 0 && tick > 0 && evalEvery % tick === 0 && checkEvery % tick === 0 && flushEvery % tick === 0)) {
    throw new Error('devices and releases must be > 0; check, flush and evaluate intervals must be multiples of the tick');
  }

  let server: SimServer | undefined;
  let baseUrl = opts.url;
  let token = opts.token;
  if (baseUrl === undefined) {
    server = await startSimServer(opts.clockStart ?? '2026-01-05T08:00:00.000Z');
    baseUrl = server.url;
    token = server.token;
  }
  if (token === undefined) throw new Error('--token is required with --url');
  const http = new HttpClient(baseUrl, senders);
  const adminHeaders = { authorization: `Bearer ${token}` };
  const admin = <T>(method: string, path: string, body?: unknown, kind = 'admin') => http.json<T>(method, path, body, adminHeaders, kind);

  try {
    // --- the server's clock ------------------------------------------------------------------
    const clock = await admin<{ mode: string; now: string }>('GET', '/admin/v1/clock');
    if (clock.mode !== 'manual') throw new Error(`the server's clock is "${clock.mode}"; start it with HALFTONE_CLOCK_MODE=manual`);
    const t0 = Date.parse(clock.now);
    const at = (minute: number) => t0 + minute * 60_000;

    // --- app, packages, releases -------------------------------------------------------------
    const rnd = new Random(opts.seed);
    const appId = `sim-${opts.seed}-${(rnd.uint32() % 1_000_000).toString(36)}`;
    const app = await admin<{ clientKey: string }>('POST', '/admin/v1/apps', { id: appId, platforms: ['android'] });
    const clientHeaders = { 'x-halftone-key': app.clientKey };
    const client = <T>(path: string, body: unknown, kind: string) => http.json<T>('POST', path, body, clientHeaders, kind);
    const names = Array.from({ length: R }, (_, i) => `m${String(i).padStart(R > 100 ? 3 : 2, '0')}`);
    const devices: Device[] = Array.from({ length: N }, (_, i) => ({
      id: `sim-d${String(i).padStart(5, '0')}`,
      model: MODELS[rnd.int(MODELS.length)] as string,
      rate: lambda * rnd.uniform(0.5, 1.5),
      checkPhase: rnd.int(checkEvery / tick) * tick,
      flushPhase: rnd.int(flushEvery / tick) * tick,
      versions: Array.from({ length: R }, () => BASE),
      buffer: new Map(),
      reports: [],
    }));
    const whitelist = devices.slice(0, staff).map((d) => d.id);
    const publish = async (module: string, version: string) => {
      const form = new FormData();
      form.set('module', module);
      form.set('version', version);
      form.set('kind', 'h5');
      const zip = storedZip([{ path: 'index.html', data: `<h1>${module} ${version}</h1>` }]);
      form.set('file', new Blob([zip], { type: 'application/zip' }), `${module}-${version}.zip`);
      await http.multipart(`/admin/v1/apps/${appId}/packages`, form, adminHeaders);
    };
    const modules: ModuleState[] = [];
    await pool(names, senders, async (name, index) => {
      await publish(name, BASE);
      const base = await admin<ReleaseView>('POST', `/admin/v1/apps/${appId}/releases`, { module: name, version: BASE, percent: 100 });
      await admin('POST', `/admin/v1/releases/${base.id}/advance`);
      await publish(name, CANDIDATE);
      const rel = await admin<ReleaseView>('POST', `/admin/v1/apps/${appId}/releases`, {
        module: name,
        version: CANDIDATE,
        whitelist,
        grayId: `${appId}:${name}`,
        health: { template, onFailure },
      });
      modules[index] = {
        index,
        name,
        releaseId: rel.id,
        onCandidate: new Set(),
        installers: new Set(),
        exposed: new Set(),
        active: true,
        outcome: {
          module: name,
          releaseId: rel.id,
          halted: false,
          haltedAtStage: null,
          haltMinute: null,
          sessionsAtHalt: null,
          maxPercentReached: rel.stage === 'full' ? 100 : rel.percent,
          stage: rel.stage,
          state: null,
          devicesExposed: 0,
          sessionsExposed: 0,
          crashesExposed: 0,
          baselineSessions: 0,
          baselineCrashes: 0,
          end: 'time_limit',
          rollback: null,
          lastVerdict: null,
        },
      };
    });
    const byRelease = new Map(modules.map((m) => [m.releaseId, m]));
    // Which baseline (device, module) pairs send their sessions: a fixed hash, so the sample is
    // the same devices all along (like a real subset of the fleet), independent per module.
    const sampleCut = Math.floor(sample * 4294967296);
    const sampled = (d: number, m: number) => hash32(`${opts.seed}:${m}:${d}`) < sampleCut;
    const baselinePairs: number[][] = modules.map((m) => {
      const out: number[] = [];
      for (let d = 0; d < N; d++) if (sampled(d, m.index)) out.push(d);
      return out;
    });
    log(`app ${appId}: ${R} module release(s), ${N} devices, ${baselinePairs.reduce((s, p) => s + p.length, 0)} sampled baseline pairs`);

    // --- the loop ----------------------------------------------------------------------------
    const decisions: SimDecision[] = [];
    const lastDecision = new Map<string, string>();
    let sessionsSent = 0;
    let itemsSent = 0;
    let minute = 0;

    const runSessions = (d: number, m: ModuleState, from: number, to: number) => {
      const dev = devices[d] as Device;
      const version = dev.versions[m.index] as string;
      const n = rnd.poisson((dev.rate * (to - from)) / 60);
      if (n === 0) return;
      const onCandidate = version === CANDIDATE;
      const p = onCandidate ? opts.releaseCrashRate : opts.baselineCrashRate;
      const key = `${m.index}:${version}`;
      let buf = dev.buffer.get(key);
      if (buf === undefined) {
        buf = [];
        dev.buffer.set(key, buf);
      }
      const end = at(to);
      let crashes = 0;
      for (let s = 0; s < n; s++) {
        const start = Math.floor(rnd.uniform(at(from), end));
        const crashed = rnd.chance(p);
        const stop = Math.min(end, start + Math.floor(rnd.uniform(20_000, 600_000)));
        const sid = uuidv7(start, rnd);
        buf.push({ id: uuidv7(start, rnd), type: 'session', ts: start, sid, phase: 'start', status: 'ok' });
        if (crashed) {
          crashes++;
          buf.push({
            id: uuidv7(stop, rnd),
            type: 'crash',
            ts: stop,
            exceptionType: 'TypeError',
            message: `Cannot read properties of undefined (reading 'items') in ${m.name}@${version}`,
            stack: `TypeError: Cannot read properties of undefined\n    at render (${m.name}/${version}/main.js:12:7)`,
          });
        }
        buf.push({ id: uuidv7(stop, rnd), type: 'session', ts: stop, sid, phase: 'end', status: crashed ? 'crashed' : 'exited', duration: stop - start });
      }
      sessionsSent += n;
      if (onCandidate) {
        m.outcome.sessionsExposed += n;
        m.outcome.crashesExposed += crashes;
        m.exposed.add(d);
      } else {
        m.outcome.baselineSessions += n;
        m.outcome.baselineCrashes += crashes;
      }
    };

    const flush = async (d: number, nowMs: number) => {
      const dev = devices[d] as Device;
      const batches: { module: string; version: string; items: EventItem[] }[] = [];
      for (const [key, items] of dev.buffer) {
        if (items.length === 0) continue;
        const [mi, version] = key.split(':') as [string, string];
        const m = modules[Number(mi)] as ModuleState;
        for (let i = 0; i < items.length; i += 900) batches.push({ module: m.name, version, items: items.slice(i, i + 900) });
      }
      dev.buffer.clear();
      for (const b of batches) {
        const body = {
          header: {
            deviceId: dev.id,
            app: appId,
            platform: 'android',
            appVersion: '8.3.0',
            sent_at: nowMs,
            modules: { [b.module]: b.version },
            deviceModel: dev.model,
            osVersion: '14',
          },
          items: b.items,
        };
        try {
          const ack = await client<{ accepted: number; duplicates: number; rejected: unknown[] }>('/client/v1/events', body, 'events');
          if (ack.rejected.length > 0) throw new Error(`events rejected: ${JSON.stringify(ack.rejected.slice(0, 3))}`);
          itemsSent += b.items.length;
        } catch (e) {
          if (e instanceof HttpError && e.status === 429) {
            // An SDK keeps the batch and retries later: put it back for the next flush.
            const key = `${names.indexOf(b.module)}:${b.version}`;
            dev.buffer.set(key, [...b.items, ...(dev.buffer.get(key) ?? [])]);
            continue;
          }
          throw e;
        }
      }
    };

    interface CheckAnswer {
      readonly modules: readonly { readonly name: string; readonly action: string; readonly version?: string; readonly releaseId?: string }[];
    }
    const check = async (d: number): Promise<CheckAnswer> => {
      const dev = devices[d] as Device;
      return client<CheckAnswer>(
        '/client/v1/check',
        {
          deviceId: dev.id,
          platform: 'android',
          appVersion: '8.3.0',
          osVersion: '14',
          deviceModel: dev.model,
          modules: modules.map((m) => ({ name: m.name, version: dev.versions[m.index] })),
        },
        'check',
      );
    };
    const applyCheck = (d: number, answer: CheckAnswer) => {
      const dev = devices[d] as Device;
      for (const a of answer.modules) {
        const mi = names.indexOf(a.name);
        const m = modules[mi];
        if (m === undefined || !m.active) continue;
        const running = dev.versions[mi] as string;
        if (a.action === 'update' && a.version === CANDIDATE && running !== CANDIDATE) {
          dev.versions[mi] = CANDIDATE;
          m.onCandidate.add(d);
          m.installers.add(d);
          dev.reports.push(
            { type: 'download', releaseId: a.releaseId ?? m.releaseId, ok: true },
            { type: 'install', releaseId: a.releaseId ?? m.releaseId, ok: true, fromVersion: running },
          );
        } else if (a.action === 'rollback' && running === CANDIDATE) {
          dev.versions[mi] = a.version ?? BASE;
          m.onCandidate.delete(d);
        }
      }
    };
    const sendReports = async (d: number) => {
      const dev = devices[d] as Device;
      if (dev.reports.length === 0) return;
      const events = dev.reports.splice(0);
      await client('/client/v1/report', { deviceId: dev.id, events }, 'report');
    };

    const refreshRelease = async (m: ModuleState) => {
      const r = await admin<ReleaseView>('GET', `/admin/v1/releases/${m.releaseId}`, undefined, 'status');
      m.outcome.stage = r.stage;
      const pct = r.stage === 'full' ? 100 : r.percent;
      if (pct > m.outcome.maxPercentReached) m.outcome.maxPercentReached = pct;
    };

    const verifyRollback = async (m: ModuleState) => {
      const installers = [...m.installers];
      let told = 0;
      await pool(installers, senders, async (d) => {
        const answer = await check(d);
        const a = answer.modules.find((x) => x.name === m.name);
        if (a?.action === 'rollback' && (a.version ?? BASE) === BASE) told++;
        applyCheck(d, answer);
        await sendReports(d);
      });
      // Devices that never took it: a sample of up to 200 must not be offered it after the halt.
      const others: number[] = [];
      for (let d = 0; d < N && others.length < 200; d += Math.max(1, Math.floor(N / 400))) if (!m.installers.has(d)) others.push(d);
      let offered = 0;
      await pool(others, senders, async (d) => {
        const answer = await check(d);
        const a = answer.modules.find((x) => x.name === m.name);
        if (a?.action === 'update' && a.version === CANDIDATE) offered++;
      });
      return { installers: installers.length, toldToRollBack: told, othersChecked: others.length, othersOffered: offered };
    };

    while (minute < maxMinutes && modules.some((m) => m.active)) {
      const from = minute;
      minute += tick;
      const nowMs = at(minute);
      const last = minute >= maxMinutes;
      await admin('PUT', '/admin/v1/clock', { now: new Date(nowMs).toISOString() }, 'clock');

      // Sessions of this tick, on the versions devices ran at its start.
      for (const m of modules) {
        if (!m.active) continue;
        for (const d of m.onCandidate) runSessions(d, m, from, minute);
        for (const d of baselinePairs[m.index] as number[]) if (!m.onCandidate.has(d)) runSessions(d, m, from, minute);
      }
      // Due checks (install → report), then due flushes.
      const dueChecks: number[] = [];
      const dueFlushes: number[] = [];
      for (let d = 0; d < N; d++) {
        const dev = devices[d] as Device;
        if ((minute - dev.checkPhase) % checkEvery === 0) dueChecks.push(d);
        // On the last tick every device flushes, so the final evaluation sees everything.
        if ((last || (minute - dev.flushPhase) % flushEvery === 0) && dev.buffer.size > 0) dueFlushes.push(d);
      }
      await pool(dueChecks, senders, async (d) => {
        applyCheck(d, await check(d));
        await sendReports(d);
      });
      await pool(dueFlushes, senders, (d) => flush(d, nowMs));

      if (!last && minute % evalEvery !== 0) continue;
      const pass = await admin<EvaluateAnswer>('POST', '/admin/v1/health/evaluate', {}, 'evaluate');
      const advanced = new Set<ModuleState>();
      for (const v of pass.decisions ?? []) {
        const m = byRelease.get(v.releaseId);
        if (m === undefined || !m.active) continue;
        m.outcome.lastVerdict = { minute, decision: v.decision, reason: v.reason ?? '' };
        const key = `${v.decision}|${v.stage ?? ''}`;
        if (lastDecision.get(m.releaseId) !== key) {
          lastDecision.set(m.releaseId, key);
          decisions.push({
            minute,
            releaseId: m.releaseId,
            module: m.name,
            decision: v.decision,
            stage: v.stage ?? null,
            reason: v.reason ?? '',
            ...(v.decision === 'halt' || v.decision === 'advance' ? { gates: v.gates } : {}),
          });
        }
        if (v.decision === 'advance') advanced.add(m);
        else if (v.decision === 'await_confirmation') {
          await admin('POST', `/admin/v1/releases/${m.releaseId}/confirm`, {}, 'confirm');
          advanced.add(m);
        } else if (v.decision === 'halt') {
          const o = m.outcome;
          o.halted = true;
          o.haltedAtStage = v.stage ?? null;
          o.haltMinute = minute;
          o.sessionsAtHalt = o.sessionsExposed;
          o.end = 'halted';
          m.active = false;
          log(`minute ${minute}: ${m.name} halted at ${o.haltedAtStage} after ${o.sessionsExposed} candidate sessions — ${v.reason ?? ''}`);
          if (onFailure === 'halt') await admin('POST', `/admin/v1/releases/${m.releaseId}/rollback`);
          o.rollback = await verifyRollback(m);
        }
      }
      for (const m of advanced) {
        await refreshRelease(m);
        log(`minute ${minute}: ${m.name} → ${m.outcome.stage} ${m.outcome.maxPercentReached}%`);
        if (m.outcome.maxPercentReached >= untilPercent) {
          m.active = false;
          m.outcome.end = 'reached';
        }
      }
    }

    // The final state of every release.
    await pool(modules, senders, async (m) => {
      m.outcome.devicesExposed = m.exposed.size;
      await refreshRelease(m);
      try {
        const h = await admin<{ state?: string }>('GET', `/admin/v1/releases/${m.releaseId}/health`, undefined, 'status');
        m.outcome.state = h.state ?? null;
      } catch {
        m.outcome.state = null;
      }
    });

    const outcomes = modules.map((m) => m.outcome);
    const halted = outcomes.filter((o) => o.halted);
    const first = halted.sort((a, b) => (a.haltMinute ?? 0) - (b.haltMinute ?? 0))[0];
    return {
      halted: halted.length > 0,
      haltedAtStage: first?.haltedAtStage ?? null,
      maxPercentReached: Math.max(...outcomes.map((o) => o.maxPercentReached)),
      devicesExposed: outcomes.reduce((s, o) => s + o.devicesExposed, 0),
      sessionsExposed: outcomes.reduce((s, o) => s + o.sessionsExposed, 0),
      simulatedMinutes: minute,
      timeToHalt: first === undefined ? null : { minutes: first.haltMinute ?? 0, sessions: first.sessionsAtHalt ?? 0 },
      halts: halted.length,
      rollback: first?.rollback ?? null,
      decisions,
      releases: modules.map((m) => m.outcome),
      totals: {
        sessionsSent,
        itemsSent,
        http: { ...http.counts },
        wallSeconds: Math.round((performance.now() - wallStart) / 100) / 10,
      },
    };
  } finally {
    await http.close();
    await server?.stop();
  }
}
