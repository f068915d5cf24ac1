// `npm run bench:config` (server section, after bench/config.bench.mjs's in-process figures):
// throughput of POST /client/v1/config against the no-op route POST /client/v1/ping of the check
// benchmark (same server, same client key check and JSON body parsing, answers {ok:true}).
//
// 1. starts the real server (`halftone serve`) in a child process on 127.0.0.1, fresh data dir;
// 2. creates an app and 50 production items: switches, strings with dedicated (channel, region)
//    and generic (fromVersion) rules, a 50/50 split, integers, floats and JSON, one dependency;
// 3. 10,000 distinct devices (ids, versions, channels, regions); a sanity check of one answer;
// 4. warm-up, then alternating autocannon rounds: ping, config, ping, config, …;
// 5. prints medians, the ratio config/ping, p99 latency, and a `BENCH_JSON {…}` line.
//
// Knobs: BENCH_ROUNDS (3), BENCH_SECONDS (4), BENCH_CONNECTIONS (10).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const envInt = (name, dflt) => {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got ${v}`);
  return n;
};
const ROUNDS = envInt('BENCH_ROUNDS', 3);
const SECONDS = envInt('BENCH_SECONDS', 4);
const CONNECTIONS = envInt('BENCH_CONNECTIONS', 10);
const DEVICES = 10_000;
const ITEMS = 50;
const log = (line) => process.stdout.write(`[bench:config-http] ${line}\n`);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (n, d = 0) => n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });

const tmp = mkdtempSync(path.join(os.tmpdir(), 'halftone-bench-config-'));
const token = `hat_bench_${Math.random().toString(36).slice(2)}`;
const child = spawn(process.execPath, [path.join(ROOT, 'packages/cli/dist/main.js'), 'serve', '--data', path.join(tmp, 'data'), '--port', '0', '--host', '127.0.0.1'], {
  env: { ...process.env, HALFTONE_ADMIN_TOKEN: token, HALFTONE_LOG_LEVEL: 'warn', HALFTONE_DELTA_WORKERS: '0' },
  stdio: ['ignore', 'pipe', 'pipe'],
});
let out = '';
child.stdout.on('data', (b) => (out += b));
child.stderr.on('data', (b) => (out += b));
const cleanup = () => {
  child.kill('SIGTERM');
  rmSync(tmp, { recursive: true, force: true });
};

try {
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 30_000);
    const poll = setInterval(() => {
      const m = /admin API\s+(http:\/\/\S+)\/admin\/v1/.exec(out);
      if (m) {
        clearInterval(poll);
        clearTimeout(timer);
        resolve(m[1]);
      }
    }, 50);
  });
  const admin = async (method, p, body) => {
    const res = await fetch(url + p, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    if (res.status >= 300) throw new Error(`${method} ${p} → ${res.status} ${await res.text()}`);
    return res.json();
  };
  const { clientKey } = await admin('POST', '/admin/v1/apps', { id: 'bench', platforms: ['android', 'ios'] });
  const item = (key) => `/admin/v1/apps/bench/config/production/items/${key}`;
  for (let i = 0; i < ITEMS; i++) {
    const kind = i % 5;
    if (kind === 0) {
      await admin('PUT', item(`switch.${i}`), { type: 'boolean', kind: 'switch', value: true, ...(i === 5 ? { dependsOn: [{ key: 'switch.0' }] } : {}) });
      await admin('POST', `${item(`switch.${i}`)}/rules`, { when: { attribute: 'channel', operator: 'in', values: ['oppo', 'vivo'] }, value: false });
    } else if (kind === 1) {
      await admin('PUT', item(`text.${i}`), { type: 'string', value: 'default' });
      await admin('POST', `${item(`text.${i}`)}/rules`, { when: { all: [{ attribute: 'channel', operator: 'eq', value: 'huawei' }, { attribute: 'region', operator: 'starts_with', value: 'CN-' }] }, value: 'dedicated' });
      for (const v of ['7.0', '8.0', '8.2', '9.0']) await admin('POST', `${item(`text.${i}`)}/rules`, { fromVersion: v, value: `generic-${v}` });
    } else if (kind === 2) {
      await admin('PUT', item(`ab.${i}`), { type: 'string', value: 'off' });
      await admin('POST', `${item(`ab.${i}`)}/rules`, { when: { attribute: 'platform', operator: 'in', values: ['android', 'ios'] }, split: { variants: [{ name: 'a', value: 'A', weight: 50 }, { name: 'b', value: 'B', weight: 50 }] } });
    } else if (kind === 3) {
      await admin('PUT', item(`num.${i}`), { type: i % 2 ? 'integer' : 'float', value: i % 2 ? i : i + 0.5 });
    } else {
      await admin('PUT', item(`json.${i}`), { type: 'json', value: { columns: 2, items: ['a', 'b'], nested: { on: true } } });
    }
  }
  const channels = ['huawei', 'xiaomi', 'oppo', 'vivo', 'apple'];
  const versions = ['6.9', '7.5', '8.0.3', '8.1', '8.2.1', '8.3', '9.0.0', '9.4'];
  const bodies = Array.from({ length: DEVICES }, (_, i) =>
    JSON.stringify({
      deviceId: `device-${i}`,
      platform: i % 3 ? 'android' : 'ios',
      appVersion: versions[i % versions.length],
      channel: channels[i % channels.length],
      region: i % 2 ? 'CN-GD' : 'US-CA',
    }),
  );
  const sanity = await fetch(`${url}/client/v1/config`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${clientKey}` }, body: bodies[0] });
  const sane = await sanity.json();
  if (sanity.status !== 200 || Object.keys(sane.values).length !== ITEMS) throw new Error(`sanity: ${sanity.status} ${JSON.stringify(sane).slice(0, 300)}`);
  log(`server ${url}; ${ITEMS} items; ${DEVICES} devices; answer of device 0 is ${JSON.stringify(sane).length} bytes`);

  let cursor = 0;
  const round = async (route, seconds) => {
    const result = await autocannon({
      url: url + route,
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-halftone-key': clientKey },
      connections: CONNECTIONS,
      duration: seconds,
      requests: [
        {
          method: 'POST',
          path: route,
          setupRequest(req) {
            req.body = bodies[cursor];
            cursor = cursor + 1 === DEVICES ? 0 : cursor + 1;
            return req;
          },
        },
      ],
    });
    if (result.non2xx > 0 || result.errors > 0) throw new Error(`${route}: ${result.non2xx} non-2xx, ${result.errors} errors`);
    return { reqPerSec: result['2xx'] / result.duration, p99: result.latency.p99 };
  };
  await round('/client/v1/ping', 1);
  await round('/client/v1/config', 2);
  const ping = [];
  const config = [];
  for (let r = 0; r < ROUNDS; r++) {
    ping.push(await round('/client/v1/ping', SECONDS));
    config.push(await round('/client/v1/config', SECONDS));
    log(`round ${r + 1}: ping ${fmt(ping.at(-1).reqPerSec)} req/s, config ${fmt(config.at(-1).reqPerSec)} req/s`);
  }
  const noop = median(ping.map((x) => x.reqPerSec));
  const cfg = median(config.map((x) => x.reqPerSec));
  const summary = {
    items: ITEMS,
    devices: DEVICES,
    connections: CONNECTIONS,
    noopPerSec: Math.round(noop),
    configPerSec: Math.round(cfg),
    // The median of each round pair's ratio: neighbours share the machine's load of the moment.
    ratio: Number(median(config.map((c, i) => c.reqPerSec / ping[i].reqPerSec)).toFixed(3)),
    configP99Ms: median(config.map((x) => x.p99)),
  };
  log(`no-op (ping)   ${fmt(noop)} req/s (median of ${ROUNDS})`);
  log(`/client/v1/config ${fmt(cfg)} req/s (median; ${ITEMS} items per answer), p99 ${summary.configP99Ms} ms`);
  log(`ratio config / no-op = ${summary.ratio} (median of the per-round ratios)`);
  process.stdout.write(`BENCH_JSON ${JSON.stringify({ bench: 'config-http', ...summary })}\n`);
} catch (err) {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.message : err}\n`);
  process.exitCode = 1;
} finally {
  cleanup();
}
