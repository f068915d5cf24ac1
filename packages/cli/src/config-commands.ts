import { type Command, Option } from 'commander';
import { apiPath } from './api-client.js';
import { usageError } from './cli-error.js';
import type { CommandContext, CommandRuntime } from './command-context.js';
import { collectList, parseJsonArgument, parseNumber } from './option-parsers.js';
import { cell, formatTable } from './output.js';

/** The environments of an app. */
export const ENVS = ['test', 'production'] as const;
/** The declared types of config items. */
export const CONFIG_TYPES = ['boolean', 'string', 'integer', 'float', 'json'] as const;
type ConfigType = (typeof CONFIG_TYPES)[number];

/** A config item as the admin API answers it. */
export interface ConfigItemBody {
  readonly namespace: string;
  readonly key: string;
  readonly qualifiedKey: string;
  readonly env: string;
  readonly type: ConfigType;
  readonly kind: string;
  readonly enabled: boolean;
  readonly value: unknown;
  readonly description?: string;
  readonly owner?: string;
  readonly tags?: readonly string[];
  readonly rules: readonly { id: string; when?: unknown; fromVersion?: string; value?: unknown; split?: unknown; variant?: string }[];
  readonly module?: string | null;
  readonly revision: number;
  readonly updatedAt: string;
  readonly updatedBy: string;
}

interface DiffBody {
  readonly from: string;
  readonly to: string;
  readonly fromRevision: number;
  readonly toRevision: number;
  readonly applied?: boolean;
  readonly changes: readonly { qualifiedKey: string; change: string; before: Record<string, unknown> | null; after: Record<string, unknown> | null }[];
}

/**
 * Turns `--value` text into the JSON value of a declared type: `true`/`false` for booleans,
 * numbers for integer and float, JSON for json, the text itself for strings. Text that is not a
 * value of the type is sent as a string, so the server's type check explains the mismatch.
 *
 * @example
 * parseConfigValue('42', 'integer'); // 42
 * parseConfigValue('{"a":1}', 'json'); // { a: 1 }
 */
export function parseConfigValue(text: string, type: ConfigType): unknown {
  switch (type) {
    case 'boolean':
      return text === 'true' ? true : text === 'false' ? false : text;
    case 'integer':
    case 'float':
      return /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(text.trim()) ? Number(text) : text;
    case 'json':
      try {
        return JSON.parse(text);
      } catch (err) {
        throw usageError(`--value is not valid JSON: ${(err as Error).message}`);
      }
    case 'string':
      return text;
  }
}

function parseEnv(value: string): string {
  if (!(ENVS as readonly string[]).includes(value)) throw usageError(`--env must be test or production, got ${JSON.stringify(value)}`);
  return value;
}
function parseType(value: string): ConfigType {
  if (!(CONFIG_TYPES as readonly string[]).includes(value)) {
    throw usageError(`--type must be one of ${CONFIG_TYPES.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value as ConfigType;
}

const appOption = () => new Option('--app <app>', 'app id').makeOptionMandatory();
const envOption = () => new Option('--env <env>', 'environment: test or production').argParser(parseEnv).makeOptionMandatory();
const nsOption = () => new Option('--namespace <ns>', 'namespace (default: default; or give KEY as namespace:key)');

const itemPath = (app: string, env: string, key: string, rest = '') =>
  `${apiPath`/admin/v1/apps/${app}/config/${env}/items/${key}`}${rest}`;
const nsQuery = (ns: string | undefined) => (ns === undefined ? undefined : { namespace: ns });

function show(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v) ?? 'undefined';
}

function ruleLine(r: ConfigItemBody['rules'][number]): string {
  const cond = r.when !== undefined ? `when ${JSON.stringify(r.when)}` : `from-version ${cell(r.fromVersion)}`;
  const what = r.split !== undefined ? `split ${JSON.stringify(r.split)}` : `value ${show(r.value)}`;
  return `${cell(r.id)}  ${cond}  → ${what}`;
}

function describeItem(item: ConfigItemBody): string {
  const lines = [
    `key:        ${cell(item.qualifiedKey)}`,
    `env:        ${cell(item.env)}`,
    `type:       ${cell(item.type)}${item.kind === 'switch' ? ' (switch)' : ''}`,
    `enabled:    ${item.enabled ? 'on' : 'off'}`,
    `value:      ${show(item.value)}`,
    `revision:   ${item.revision}  (${cell(item.updatedAt)} by ${cell(item.updatedBy)})`,
  ];
  if (item.module) lines.push(`module:     ${cell(item.module)}`);
  if (item.description) lines.push(`description: ${cell(item.description)}`);
  if (item.rules.length > 0) lines.push('rules:', ...item.rules.map((r) => `  ${ruleLine(r)}`));
  return lines.join('\n');
}

async function getItem(ctx: CommandContext, app: string, env: string, key: string, ns: string | undefined): Promise<ConfigItemBody> {
  return ctx.api().send<ConfigItemBody>({ method: 'GET', path: itemPath(app, env, key), query: nsQuery(ns) });
}

interface Common {
  readonly app: string;
  readonly env: string;
  readonly namespace?: string;
}

/**
 * Registers `halftone config set|get|list|history|restore|promote`, `config rule add|list|remove`
 * and `halftone switch on|off`.
 *
 * @example
 * registerConfigCommands(program, runtime);
 * // halftone config set checkout.newFlow --app shop --env test --type boolean --value false
 * // halftone config rule add checkout.newFlow --app shop --env test --value true --from-version 8.2
 * // halftone switch off pkg.home --app shop --env production
 */
export function registerConfigCommands(program: Command, runtime: CommandRuntime): void {
  const config = program.command('config').description('dynamic config items and switches, per environment');

  config
    .command('set')
    .description('create a config item or change its (default) value')
    .argument('<key>', 'item key (or namespace:key)')
    .addOption(appOption())
    .addOption(envOption())
    .addOption(new Option('--type <type>', `declared type: ${CONFIG_TYPES.join('|')} (required for a new item)`).argParser(parseType))
    .option('--value <value>', 'the default value (JSON for json items)')
    .addOption(nsOption())
    .option('--description <text>', 'what the item is for')
    .option('--owner <owner>', 'who owns it')
    .addOption(new Option('--tag <tag>', 'a tag; repeat or use a comma list').argParser(collectList))
    .option('--module <module>', 'bind a boolean switch to a package module (its check answers disable while off)')
    .option('--switch', 'mark the item as a switch (kill-switch semantics)')
    .action(async (key: string, opts: Common & { type?: ConfigType; value?: string; description?: string; owner?: string; tag?: string[]; module?: string; switch?: boolean }, command: Command) => {
      const ctx = runtime.contextFor(command);
      let type = opts.type;
      if (opts.value !== undefined && type === undefined) type = (await getItem(ctx, opts.app, opts.env, key, opts.namespace)).type;
      const body = await ctx.api().send<ConfigItemBody>({
        method: 'PUT',
        path: itemPath(opts.app, opts.env, key),
        json: {
          ...(opts.namespace !== undefined ? { namespace: opts.namespace } : {}),
          ...(opts.type !== undefined ? { type: opts.type } : {}),
          ...(opts.value !== undefined ? { value: parseConfigValue(opts.value, type as ConfigType) } : {}),
          ...(opts.description !== undefined ? { description: opts.description } : {}),
          ...(opts.owner !== undefined ? { owner: opts.owner } : {}),
          ...(opts.tag !== undefined ? { tags: opts.tag } : {}),
          ...(opts.module !== undefined ? { module: opts.module } : {}),
          ...(opts.switch === true ? { kind: 'switch' } : {}),
        },
      });
      ctx.emit(body, () => `Set ${body.qualifiedKey} in ${body.env} (revision ${body.revision})\n${describeItem(body)}`);
    });

  config
    .command('get')
    .description('show a config item with its rules')
    .argument('<key>', 'item key (or namespace:key)')
    .addOption(appOption())
    .addOption(envOption())
    .addOption(nsOption())
    .action(async (key: string, opts: Common, command: Command) => {
      const ctx = runtime.contextFor(command);
      const body = await getItem(ctx, opts.app, opts.env, key, opts.namespace);
      ctx.emit(body, () => describeItem(body));
    });

  config
    .command('list')
    .description('list the config items of an environment')
    .addOption(appOption())
    .addOption(envOption())
    .addOption(nsOption())
    .action(async (opts: Common, command: Command) => {
      const ctx = runtime.contextFor(command);
      const body = await ctx.api().send<{ revision: number; items: ConfigItemBody[] }>({
        method: 'GET',
        path: apiPath`/admin/v1/apps/${opts.app}/config/${opts.env}/items`,
        query: nsQuery(opts.namespace),
      });
      ctx.emit(body, () =>
        body.items.length === 0
          ? `No config items in ${opts.env}.`
          : formatTable(
              ['KEY', 'TYPE', 'ON', 'VALUE', 'RULES', 'REVISION'],
              body.items.map((i) => [cell(i.qualifiedKey), cell(i.type), i.enabled ? 'on' : 'off', show(i.value), String(i.rules.length), String(i.revision)]),
            ),
      );
    });

  config
    .command('history')
    .description('the revisions of an item, newest first')
    .argument('<key>', 'item key (or namespace:key)')
    .addOption(appOption())
    .addOption(envOption())
    .addOption(nsOption())
    .action(async (key: string, opts: Common, command: Command) => {
      const ctx = runtime.contextFor(command);
      const body = await ctx.api().send<{ revisions: { revision: number; action: string; actor: string; at: string; item: { value?: unknown; enabled?: boolean } | null }[] }>({
        method: 'GET',
        path: itemPath(opts.app, opts.env, key, '/history'),
        query: nsQuery(opts.namespace),
      });
      ctx.emit(body, () =>
        body.revisions.length === 0
          ? 'No revisions.'
          : formatTable(
              ['REVISION', 'ACTION', 'WHEN', 'WHO', 'VALUE'],
              body.revisions.map((r) => [String(r.revision), cell(r.action), cell(r.at), cell(r.actor), r.item === null ? '(deleted)' : show(r.item.value)]),
            ),
      );
    });

  config
    .command('restore')
    .description('make an old revision of an item current again (as a new revision)')
    .argument('<key>', 'item key (or namespace:key)')
    .addOption(appOption())
    .addOption(envOption())
    .addOption(new Option('--revision <n>', 'the revision to restore').argParser((v) => parseNumber(v, '--revision')).makeOptionMandatory())
    .addOption(nsOption())
    .action(async (key: string, opts: Common & { revision: number }, command: Command) => {
      const ctx = runtime.contextFor(command);
      const body = await ctx.api().send<ConfigItemBody & { deleted?: boolean }>({
        method: 'POST',
        path: itemPath(opts.app, opts.env, key, '/restore'),
        json: { revision: opts.revision, ...(opts.namespace !== undefined ? { namespace: opts.namespace } : {}) },
      });
      ctx.emit(body, () => (body.deleted === true ? `Restored revision ${opts.revision}: ${key} is deleted.` : `Restored revision ${opts.revision} as revision ${body.revision}\n${describeItem(body)}`));
    });

  config
    .command('promote')
    .description('show what promoting one environment to another changes; --yes applies it atomically')
    .addOption(appOption())
    .addOption(new Option('--from <env>', 'source environment').argParser(parseEnv).default('test'))
    .addOption(new Option('--to <env>', 'target environment').argParser(parseEnv).default('production'))
    .option('--yes', 'apply the diff shown (refused if either environment changed meanwhile)')
    .action(async (opts: { app: string; from: string; to: string; yes?: boolean }, command: Command) => {
      const ctx = runtime.contextFor(command);
      const diff = await ctx.api().send<DiffBody>({
        method: 'GET',
        path: apiPath`/admin/v1/apps/${opts.app}/config/promote`,
        query: { from: opts.from, to: opts.to },
      });
      const lines = (d: DiffBody) =>
        d.changes.length === 0
          ? [`${d.to} already matches ${d.from}.`]
          : [
              `${d.from} (revision ${d.fromRevision}) → ${d.to} (revision ${d.toRevision}): ${d.changes.length} change(s)`,
              ...d.changes.map((c) => {
                const sign = c.change === 'added' ? '+' : c.change === 'removed' ? '-' : '~';
                const before = c.before === null ? '' : ` ${show(c.before.value)}`;
                const after = c.after === null ? '' : ` ${show(c.after.value)}`;
                return `${sign} ${c.qualifiedKey}  ${c.change}${c.change === 'changed' ? `${before} →${after}` : c.change === 'added' ? after : before}`;
              }),
            ];
      if (opts.yes !== true || diff.changes.length === 0) {
        ctx.emit({ ...diff, applied: false }, () => [...lines(diff), ...(diff.changes.length > 0 ? ['Not applied: run again with --yes.'] : [])].join('\n'));
        return;
      }
      const applied = await ctx.api().send<DiffBody>({
        method: 'POST',
        path: apiPath`/admin/v1/apps/${opts.app}/config/promote`,
        json: { from: opts.from, to: opts.to, fromRevision: diff.fromRevision, toRevision: diff.toRevision },
      });
      ctx.emit(applied, () => [...lines(applied), `Promoted ${opts.from} to ${opts.to}.`].join('\n'));
    });

  const rule = config.command('rule').description('the ordered rules of an item');
  rule
    .command('add')
    .description('add a rule: --when (dedicated: conditions in the core rule format) or --from-version (generic)')
    .argument('<key>', 'item key (or namespace:key)')
    .addOption(appOption())
    .addOption(envOption())
    .requiredOption('--value <value>', 'the value the rule delivers')
    .option('--when <rule>', 'dedicated rule: core rule JSON, or @file')
    .option('--from-version <version>', 'generic rule: app versions at or above this one')
    .option('--id <id>', 'rule id (default r<n>)')
    .option('--variant <name>', 'a name for the value (reported by OFREP)')
    .addOption(new Option('--position <n>', 'insert at this index (default: last)').argParser((v) => parseNumber(v, '--position')))
    .addOption(nsOption())
    .action(async (key: string, opts: Common & { value: string; when?: string; fromVersion?: string; id?: string; variant?: string; position?: number }, command: Command) => {
      const ctx = runtime.contextFor(command);
      if ((opts.when === undefined) === (opts.fromVersion === undefined)) throw usageError('give exactly one of --when or --from-version');
      const when = opts.when === undefined ? undefined : parseJsonArgument(opts.when, '--when', ctx.io.cwd);
      const item = await getItem(ctx, opts.app, opts.env, key, opts.namespace);
      const body = await ctx.api().send<ConfigItemBody>({
        method: 'POST',
        path: itemPath(opts.app, opts.env, key, '/rules'),
        json: {
          ...(opts.namespace !== undefined ? { namespace: opts.namespace } : {}),
          ...(opts.id !== undefined ? { id: opts.id } : {}),
          ...(when !== undefined ? { when } : { fromVersion: opts.fromVersion }),
          value: parseConfigValue(opts.value, item.type),
          ...(opts.variant !== undefined ? { variant: opts.variant } : {}),
          ...(opts.position !== undefined ? { position: opts.position } : {}),
        },
      });
      ctx.emit(body, () => `Added rule to ${body.qualifiedKey} in ${body.env} (revision ${body.revision})\n${body.rules.map(ruleLine).join('\n')}`);
    });
  rule
    .command('list')
    .description('list the rules of an item, in evaluation order of their kind')
    .argument('<key>', 'item key (or namespace:key)')
    .addOption(appOption())
    .addOption(envOption())
    .addOption(nsOption())
    .action(async (key: string, opts: Common, command: Command) => {
      const ctx = runtime.contextFor(command);
      const body = await ctx.api().send<{ rules: ConfigItemBody['rules'] }>({ method: 'GET', path: itemPath(opts.app, opts.env, key, '/rules'), query: nsQuery(opts.namespace) });
      ctx.emit(body, () => (body.rules.length === 0 ? 'No rules.' : body.rules.map(ruleLine).join('\n')));
    });
  rule
    .command('remove')
    .description('remove a rule')
    .argument('<key>', 'item key (or namespace:key)')
    .argument('<rule>', 'rule id')
    .addOption(appOption())
    .addOption(envOption())
    .addOption(nsOption())
    .action(async (key: string, ruleId: string, opts: Common, command: Command) => {
      const ctx = runtime.contextFor(command);
      const body = await ctx.api().send<ConfigItemBody>({
        method: 'DELETE',
        path: itemPath(opts.app, opts.env, key, apiPath`/rules/${ruleId}`),
        query: nsQuery(opts.namespace),
      });
      ctx.emit(body, () => `Removed rule ${ruleId} from ${body.qualifiedKey} (revision ${body.revision})`);
    });

  const sw = program.command('switch').description('kill switches: turn a boolean item on or off for everyone');
  for (const [verb, on] of [['on', true], ['off', false]] as const) {
    sw.command(verb)
      .description(on ? 'switch an item on (its rules and default apply again)' : 'switch an item off: everyone gets false (DISABLED)')
      .argument('<key>', 'item key (or namespace:key); a missing one is created as a switch')
      .addOption(appOption())
      .addOption(envOption())
      .addOption(nsOption())
      .action(async (key: string, opts: Common, command: Command) => {
        const ctx = runtime.contextFor(command);
        const body = await ctx.api().send<ConfigItemBody>({
          method: 'PUT',
          path: apiPath`/admin/v1/apps/${opts.app}/config/${opts.env}/switches/${key}`,
          json: { on, ...(opts.namespace !== undefined ? { namespace: opts.namespace } : {}) },
        });
        ctx.emit(body, () => `Switched ${body.qualifiedKey} ${verb} in ${body.env} (revision ${body.revision})`);
      });
  }
}
