/**
 * `npm run simulate -- --devices N --baseline-crash-rate R --release-crash-rate R --seed S
 *   [--template NAME|sim|@file.json] [--releases K] [--url URL --token T] [--json] …`
 *
 * With `--json`, prints exactly one JSON object; otherwise a readable summary. Progress goes to
 * stderr. Exit code 0 when the run completed (whatever the engine decided), 1 on an error.
 * See tools/simulate/README.md.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { runSimulation, type SimulationOptions, type SimulationResult } from './simulate.js';

const USAGE = `usage: npm run simulate -- --devices N --baseline-crash-rate R --release-crash-rate R --seed S
  [--template standard|cautious|fast|sim|@template.json] [--releases K] [--on-failure halt|rollback]
  [--sessions-per-hour X] [--check-interval MIN] [--flush-interval MIN] [--tick MIN] [--evaluate-every MIN]
  [--max-minutes MIN] [--baseline-sample FRACTION] [--whitelist N] [--until-percent P] [--senders N]
  [--url URL --token TOKEN] [--json] [--quiet]`;

function num(name: string, v: string | undefined, dflt?: number): number | undefined {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`--${name} must be a number, got "${v}"`);
  return n;
}

function required(name: string, v: number | undefined): number {
  if (v === undefined) throw new Error(`--${name} is required\n${USAGE}`);
  return v;
}

function summary(r: SimulationResult): string {
  const lines = [
    `halted:              ${r.halted ? `yes, at stage ${r.haltedAtStage}` : 'no'}${r.halts > 1 ? ` (${r.halts} releases)` : ''}`,
    `max percent reached: ${r.maxPercentReached}%`,
    `time to halt:        ${r.timeToHalt === null ? '—' : `${r.timeToHalt.minutes} simulated minutes, ${r.timeToHalt.sessions} candidate sessions`}`,
    `exposed:             ${r.devicesExposed} devices, ${r.sessionsExposed} sessions on the candidate`,
    `simulated:           ${r.simulatedMinutes} minutes (${(r.simulatedMinutes / 60).toFixed(1)} h)`,
  ];
  if (r.rollback !== null) {
    lines.push(
      `rollback:            ${r.rollback.toldToRollBack}/${r.rollback.installers} installers told to roll back; ${r.rollback.othersOffered}/${r.rollback.othersChecked} others offered the candidate after the halt`,
    );
  }
  if (r.releases.length > 1) {
    const reached = new Map<number, number>();
    for (const o of r.releases) reached.set(o.maxPercentReached, (reached.get(o.maxPercentReached) ?? 0) + 1);
    lines.push(`releases:            ${r.releases.length}, halted ${r.halts}; reached ${[...reached].sort((a, b) => a[0] - b[0]).map(([p, n]) => `${p}%: ${n}`).join(', ')}`);
  }
  lines.push(`decisions:`);
  for (const d of r.decisions.slice(0, 40)) lines.push(`  min ${String(d.minute).padStart(5)}  ${d.module}  ${d.decision.padEnd(18)} ${d.stage ?? ''}  ${d.reason}`);
  if (r.decisions.length > 40) lines.push(`  … ${r.decisions.length - 40} more (--json for all)`);
  lines.push(
    `cost:                ${r.totals.sessionsSent} sessions / ${r.totals.itemsSent} items sent; HTTP ${Object.entries(r.totals.http).map(([k, v]) => `${k} ${v}`).join(', ')}; ${r.totals.wallSeconds} s`,
  );
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      devices: { type: 'string' },
      'baseline-crash-rate': { type: 'string' },
      'release-crash-rate': { type: 'string' },
      seed: { type: 'string' },
      template: { type: 'string' },
      releases: { type: 'string' },
      'on-failure': { type: 'string' },
      'sessions-per-hour': { type: 'string' },
      'check-interval': { type: 'string' },
      'flush-interval': { type: 'string' },
      tick: { type: 'string' },
      'evaluate-every': { type: 'string' },
      'max-minutes': { type: 'string' },
      'baseline-sample': { type: 'string' },
      whitelist: { type: 'string' },
      'until-percent': { type: 'string' },
      senders: { type: 'string' },
      url: { type: 'string' },
      token: { type: 'string' },
      json: { type: 'boolean' },
      quiet: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  let template: string | object | undefined = values.template;
  if (template?.startsWith('@')) template = JSON.parse(readFileSync(template.slice(1), 'utf8')) as object;
  const onFailure = values['on-failure'];
  if (onFailure !== undefined && onFailure !== 'halt' && onFailure !== 'rollback') throw new Error('--on-failure must be halt or rollback');
  const token = values.token ?? process.env.HALFTONE_TOKEN;
  const optional = {
    releases: num('releases', values.releases),
    sessionsPerHour: num('sessions-per-hour', values['sessions-per-hour']),
    checkIntervalMinutes: num('check-interval', values['check-interval']),
    flushIntervalMinutes: num('flush-interval', values['flush-interval']),
    tickMinutes: num('tick', values.tick),
    evaluateEveryMinutes: num('evaluate-every', values['evaluate-every']),
    maxMinutes: num('max-minutes', values['max-minutes']),
    baselineSample: num('baseline-sample', values['baseline-sample']),
    whitelist: num('whitelist', values.whitelist),
    untilPercent: num('until-percent', values['until-percent']),
    senders: num('senders', values.senders),
    url: values.url,
    token,
    template,
    onFailure,
  };
  const opts: SimulationOptions = {
    devices: required('devices', num('devices', values.devices)),
    baselineCrashRate: required('baseline-crash-rate', num('baseline-crash-rate', values['baseline-crash-rate'])),
    releaseCrashRate: required('release-crash-rate', num('release-crash-rate', values['release-crash-rate'])),
    seed: required('seed', num('seed', values.seed)),
    ...(Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined)) as Partial<SimulationOptions>),
    ...(values.quiet ? {} : { log: (line: string) => process.stderr.write(`[simulate] ${line}\n`) }),
  };
  const result = await runSimulation(opts);
  process.stdout.write(values.json ? `${JSON.stringify(result)}\n` : summary(result));
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
