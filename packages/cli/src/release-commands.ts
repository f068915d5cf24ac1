import { type Command, Option } from 'commander';
import type { CountersBody, ReleaseBody, ReleaseStatusBody } from './admin-types.js';
import { apiPath } from './api-client.js';
import { CliError, usageError } from './cli-error.js';
import type { CommandRuntime } from './command-context.js';
import {
  collectList,
  parseJsonArgument,
  parseNumber,
  parsePercentOption,
} from './option-parsers.js';
import { cell, formatTable } from './output.js';

/** Rollout stages in the order a release goes through them. */
export const STAGES = ['whitelist', 'internal', 'gray', 'percentage', 'full'] as const;

/** The funnel counters, in funnel order. */
const COUNTERS = ['checked', 'offered', 'downloaded', 'installed', 'failed'] as const;

/** The verbs that move a release and take no arguments: `POST /admin/v1/releases/:id/<verb>`. */
const VERBS = {
  advance: 'advance the release to its next stage',
  halt: 'stop offering the release (devices that took it keep it)',
  resume: 'offer a halted release again',
  rollback: 'roll the release back (only devices that took it revert)',
} as const;

interface CreateOptions {
  readonly app: string;
  readonly module: string;
  readonly version: string;
  readonly platform?: string;
  readonly whitelist?: string[];
  readonly crowd?: string[];
  readonly percent?: number;
  readonly rule?: string;
  readonly when?: string;
  readonly mandatory?: boolean;
  readonly grayId?: string;
  readonly stickiness?: string;
  readonly description?: string;
  readonly health?: string;
  readonly onFailure?: string;
}

/**
 * One line describing a release: id, module@version, stage, status, percent.
 *
 * @example
 * releaseLine({ id: 'rel_1', module: 'home', version: '1.4.0', stage: 'gray', status: 'active',
 *   percent: 10 });
 * // 'rel_1  home@1.4.0  stage=gray  status=active  percent=10%'
 */
export function releaseLine(release: ReleaseBody): string {
  const percent = release.percent === undefined ? '-' : `${release.percent}%`;
  return [
    cell(release.id),
    `${cell(release.module)}@${cell(release.version)}`,
    `stage=${cell(release.stage)}`,
    `status=${cell(release.status)}`,
    `percent=${percent}`,
  ].join('  ');
}

function counterCells(counters: CountersBody | undefined): string[] {
  return COUNTERS.map((name) => String(counters?.[name] ?? 0));
}

/**
 * The human form of `GET /admin/v1/releases/:id/status`: the release line, then a table of
 * stages × funnel counters (stages in rollout order, then any the CLI does not know, then the
 * total).
 *
 * @example
 * formatReleaseStatus({ release, stats: { total, stages: { gray: counters } } });
 */
export function formatReleaseStatus(status: ReleaseStatusBody): string {
  const stages = status.stats?.stages ?? {};
  const known = STAGES.filter((s) => stages[s] !== undefined);
  const other = Object.keys(stages).filter(
    (s) => !(STAGES as readonly string[]).includes(s) && stages[s] !== undefined,
  );
  const rows = [...known, ...other].map((stage) => [stage, ...counterCells(stages[stage])]);
  rows.push(['total', ...counterCells(status.stats?.total)]);
  const headers = ['STAGE', ...COUNTERS.map((c) => c.toUpperCase())];
  return `${releaseLine(status.release)}\n\n${formatTable(headers, rows)}`;
}

/** A recorded health decision as `GET /admin/v1/releases/:id/health` lists it. */
export interface HealthDecisionBody {
  readonly kind: string;
  readonly stage?: string | null;
  readonly reason: string;
  readonly createdAt: string;
  readonly gates?: readonly { readonly gate: string; readonly status: string; readonly numbers?: Record<string, unknown> }[];
}

/** `GET /admin/v1/releases/:id/health`, as far as the CLI shows it. */
export interface ReleaseHealthBody {
  readonly policy: { readonly template: string; readonly onFailure: string } | null;
  readonly stageIndex: number | null;
  readonly stage?: { readonly name?: string } | null;
  readonly stageStartedAt: string | null;
  readonly state: string | null;
  readonly lastVerdict?: { readonly decision: string; readonly reason: string; readonly at?: string } | null;
  readonly decisions?: readonly HealthDecisionBody[];
  readonly feedbackWatch?: readonly string[];
  readonly feedbackAlerts?: readonly HealthDecisionBody[];
}

/** How many recent decisions `release status` prints. */
const DECISIONS_SHOWN = 10;

/**
 * The health part of `halftone release status`: the policy and state, the last verdict, the
 * recent decisions (newest first) and feedback alerts. Empty for a release without a policy
 * and without alerts.
 *
 * @example
 * formatReleaseHealth({ policy: { template: 'standard', onFailure: 'rollback' }, stageIndex: 2,
 *   stage: { name: '1%' }, stageStartedAt: '2026-01-01T00:00:00Z', state: 'running' });
 */
export function formatReleaseHealth(health: ReleaseHealthBody): string {
  const lines: string[] = [];
  if (health.policy !== null) {
    lines.push(
      `health: state=${cell(health.state)}  template=${cell(health.policy.template)}  ` +
        `stage=${cell(health.stage?.name ?? health.stageIndex)}  since=${cell(health.stageStartedAt)}  ` +
        `onFailure=${cell(health.policy.onFailure)}`,
    );
    const v = health.lastVerdict;
    lines.push(v ? `last verdict: ${cell(v.decision)} at ${cell(v.at)}: ${cell(v.reason)}` : 'last verdict: (not evaluated yet)');
  }
  const decisions = (health.decisions ?? []).slice(0, DECISIONS_SHOWN);
  if (decisions.length > 0) {
    lines.push('', formatTable(['AT', 'DECISION', 'STAGE', 'REASON'], decisions.map((d) => [cell(d.createdAt), cell(d.kind), cell(d.stage), cell(d.reason)])));
  }
  const alerts = (health.feedbackAlerts ?? []).slice(0, DECISIONS_SHOWN);
  if (alerts.length > 0) {
    lines.push('', formatTable(['AT', 'FEEDBACK ALERT'], alerts.map((a) => [cell(a.createdAt), cell(a.reason)])));
  }
  return lines.join('\n');
}

/** The rule given with `--rule` or its alias `--when` (inline JSON or @file.json). */
function ruleOption(opts: { rule?: string; when?: string }, cwd: string): unknown {
  if (opts.rule !== undefined && opts.when !== undefined) {
    throw usageError('--when is another name for --rule; give only one of them');
  }
  const ruleText = opts.rule ?? opts.when;
  return ruleText === undefined
    ? undefined
    : parseJsonArgument(ruleText, opts.rule !== undefined ? '--rule' : '--when', cwd);
}

/**
 * The `health` member of a create body: a template name (`standard`, `cautious`, `fast`), or an
 * inline template as JSON or `@file.json`; `--on-failure` only with it.
 */
function healthOption(opts: CreateOptions, cwd: string): Record<string, unknown> | undefined {
  if (opts.health === undefined) {
    if (opts.onFailure !== undefined) throw usageError('--on-failure needs --health (the template whose gates decide)');
    return undefined;
  }
  const h = opts.health.trim();
  const template = h.startsWith('@') || h.startsWith('{') ? parseJsonArgument(h, '--health', cwd) : h;
  if (template === '' || (typeof template === 'object' && (template === null || Array.isArray(template)))) {
    throw usageError('--health takes a template name (standard, cautious, fast) or a template object as JSON or @file.json');
  }
  return opts.onFailure === undefined ? { template } : { template, onFailure: opts.onFailure };
}

function createBody(opts: CreateOptions, cwd: string): Record<string, unknown> {
  const rule = ruleOption(opts, cwd);
  const health = healthOption(opts, cwd);
  const body: Record<string, unknown> = { module: opts.module, version: opts.version };
  const optional: Record<string, unknown> = {
    platform: opts.platform,
    whitelist: opts.whitelist,
    crowds: opts.crowd,
    percent: opts.percent,
    rule,
    mandatory: opts.mandatory,
    grayId: opts.grayId,
    stickiness: opts.stickiness,
    description: opts.description,
    health,
  };
  for (const [key, value] of Object.entries(optional)) {
    if (value !== undefined) body[key] = value;
  }
  return body;
}

interface UpdateOptions {
  readonly whitelist?: string[];
  readonly crowd?: string[];
  readonly rule?: string;
  readonly when?: string;
  readonly clearRule?: boolean;
  readonly mandatory?: boolean;
  readonly notMandatory?: boolean;
  readonly description?: string;
}

function updateBody(opts: UpdateOptions, cwd: string): Record<string, unknown> {
  if (opts.mandatory && opts.notMandatory) {
    throw usageError('give only one of --mandatory and --not-mandatory');
  }
  if (opts.clearRule && (opts.rule !== undefined || opts.when !== undefined)) {
    throw usageError('--clear-rule removes the rule; do not give --rule with it');
  }
  const body: Record<string, unknown> = {};
  const rule = ruleOption(opts, cwd);
  if (rule !== undefined) body.rule = rule;
  if (opts.clearRule) body.rule = null;
  if (opts.whitelist !== undefined) body.whitelist = opts.whitelist;
  if (opts.crowd !== undefined) body.crowds = opts.crowd;
  if (opts.mandatory) body.mandatory = true;
  if (opts.notMandatory) body.mandatory = false;
  if (opts.description !== undefined) body.description = opts.description;
  if (Object.keys(body).length === 0) throw usageError('nothing to change: give at least one option');
  return body;
}

/**
 * Registers `halftone release create|list|status|update|advance|halt|resume|rollback|set-percent`.
 *
 * @example
 * registerReleaseCommands(program, runtime);
 * // halftone release create --app shop --module home --version 1.4.0 --crowd employees --percent 5
 */
export function registerReleaseCommands(program: Command, runtime: CommandRuntime): void {
  const release = program.command('release').description('create and steer gray releases');

  release
    .command('create')
    .description('release a published package version, starting small')
    .requiredOption('--app <app>', 'app id')
    .requiredOption('--module <name>', 'module')
    .requiredOption('--version <version>', 'package version to release')
    .option('--platform <platform>', 'platform (when the version exists for several)')
    .addOption(
      new Option(
        '--whitelist <ids>',
        'user or device ids that get it first (comma list)',
      ).argParser(collectList),
    )
    .addOption(
      new Option('--crowd <name>', 'crowd that gets it (repeatable, or a comma list)').argParser(
        collectList,
      ),
    )
    .addOption(new Option('--percent <p>', 'share of devices, 0–100').argParser(parsePercentOption))
    .option('--rule <json>', 'targeting rule as JSON, or @file.json')
    .option('--when <json>', 'same as --rule')
    .option('--mandatory', 'clients must install it before continuing')
    .option('--gray-id <id>', 'bucketing salt (releases sharing it share their buckets)')
    .addOption(
      new Option('--stickiness <key>', 'what a bucket sticks to').choices(['userId', 'deviceId']),
    )
    .option('--description <text>', 'release notes')
    .option(
      '--health <template>',
      'health gates: the release walks the stages of this template by itself (standard, cautious, fast, or a template as JSON / @file.json)',
    )
    .addOption(
      new Option('--on-failure <action>', 'when a gate fails: halt, or halt and roll back (default)').choices(['halt', 'rollback']),
    )
    .action(async (opts: CreateOptions, command: Command) => {
      const ctx = runtime.contextFor(command);
      const json = createBody(opts, ctx.io.cwd);
      const body = await ctx.api().send<ReleaseBody>({
        method: 'POST',
        path: apiPath`/admin/v1/apps/${opts.app}/releases`,
        json,
      });
      ctx.emit(body, () => `Created release ${releaseLine(body)}`);
    });

  release
    .command('list')
    .description("list an app's releases")
    .requiredOption('--app <app>', 'app id')
    .option('--module <name>', 'only this module')
    .option('--status <status>', 'only releases with this status')
    .action(async (opts: { app: string; module?: string; status?: string }, command: Command) => {
      const ctx = runtime.contextFor(command);
      const body = await ctx.api().send<{ releases?: ReleaseBody[] }>({
        method: 'GET',
        path: apiPath`/admin/v1/apps/${opts.app}/releases`,
        query: { module: opts.module, status: opts.status },
      });
      const releases = body.releases ?? [];
      ctx.emit(body, () =>
        releases.length === 0
          ? `No releases in app ${opts.app}.`
          : formatTable(
              ['ID', 'MODULE', 'VERSION', 'STAGE', 'STATUS', 'PERCENT', 'UPDATED'],
              releases.map((r) => [
                cell(r.id),
                cell(r.module),
                cell(r.version),
                cell(r.stage),
                cell(r.status),
                r.percent === undefined ? '-' : `${r.percent}%`,
                cell(r.updatedAt ?? r.createdAt),
              ]),
            ),
      );
    });

  release
    .command('status')
    .description('show a release and its funnel per stage')
    .argument('<id>', 'release id')
    .action(async (id: string, _opts: unknown, command: Command) => {
      const ctx = runtime.contextFor(command);
      const api = ctx.api();
      const body = await api.send<ReleaseStatusBody>({
        method: 'GET',
        path: apiPath`/admin/v1/releases/${id}/status`,
      });
      // Health gates (a server without them answers 404: the status is shown without).
      let health: ReleaseHealthBody | undefined;
      try {
        health = await api.send<ReleaseHealthBody>({ method: 'GET', path: apiPath`/admin/v1/releases/${id}/health` });
      } catch (err) {
        if (!(err instanceof CliError) || err.problem.status !== 404) throw err;
      }
      const out = health === undefined ? body : { ...body, health };
      ctx.emit(out, () => {
        const text = formatReleaseStatus(body);
        const h = health === undefined ? '' : formatReleaseHealth(health);
        return h === '' ? text : `${text}\n\n${h}`;
      });
    });

  for (const [verb, description] of Object.entries(VERBS)) {
    release
      .command(verb)
      .description(description)
      .argument('<id>', 'release id')
      .action(async (id: string, _opts: unknown, command: Command) => {
        const ctx = runtime.contextFor(command);
        const body = await ctx.api().send<ReleaseBody>({
          method: 'POST',
          path: apiPath`/admin/v1/releases/${id}/${verb}`,
          json: {},
        });
        ctx.emit(body, () => releaseLine(body));
      });
  }

  release
    .command('update')
    .description('change the whitelist, crowds, gray rule, mandatory flag or notes of a release')
    .argument('<id>', 'release id')
    .addOption(
      new Option('--whitelist <ids>', 'replace the whitelist (comma list)').argParser(collectList),
    )
    .addOption(
      new Option('--crowd <name>', 'replace the crowds (repeatable, or a comma list)').argParser(
        collectList,
      ),
    )
    .option('--rule <json>', 'replace the gray rule (JSON, or @file.json)')
    .option('--when <json>', 'same as --rule')
    .option('--clear-rule', 'remove the gray rule')
    .option('--mandatory', 'make it mandatory')
    .option('--not-mandatory', 'make it optional')
    .option('--description <text>', 'release notes')
    .action(async (id: string, opts: UpdateOptions, command: Command) => {
      const ctx = runtime.contextFor(command);
      const json = updateBody(opts, ctx.io.cwd);
      const body = await ctx.api().send<ReleaseBody>({
        method: 'PATCH',
        path: apiPath`/admin/v1/releases/${id}`,
        json,
      });
      ctx.emit(body, () => `Updated release ${releaseLine(body)}`);
    });

  release
    .command('set-percent')
    .description('set the share of devices a release reaches')
    .argument('<id>', 'release id')
    .argument('<percent>', 'share of devices, 0–100')
    .action(async (id: string, percentText: string, _opts: unknown, command: Command) => {
      const ctx = runtime.contextFor(command);
      const percent = parseNumber(percentText, 'PERCENT');
      const body = await ctx.api().send<ReleaseBody>({
        method: 'POST',
        path: apiPath`/admin/v1/releases/${id}/percent`,
        json: { percent },
      });
      ctx.emit(body, () => releaseLine(body));
    });
}
