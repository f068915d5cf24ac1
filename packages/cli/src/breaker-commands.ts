import { type Command, Option } from 'commander';
import { apiPath } from './api-client.js';
import type { CommandRuntime } from './command-context.js';
import { parseNumber } from './option-parsers.js';
import { cell, formatTable } from './output.js';

/** A circuit-breaker rule as `/admin/v1/apps/:app/breakers` shows it. */
export interface BreakerBody {
  readonly id: string;
  readonly scope: string;
  readonly target: string;
  readonly metric: string;
  readonly threshold: number;
  readonly action: string;
  readonly minSessions?: number;
  readonly alpha?: number;
  readonly windowMinutes: number;
  readonly createdAt?: string;
  readonly fired?: readonly { readonly ruleId: string; readonly subject: string; readonly firedAt: string }[];
}

interface AddOptions {
  readonly app: string;
  readonly id: string;
  readonly scope: string;
  readonly target: string;
  readonly metric: string;
  readonly threshold: string;
  readonly action: string;
  readonly minSessions?: string;
  readonly alpha?: string;
  readonly windowMinutes?: string;
}

/**
 * A rate given as a fraction (0.02) or a percentage (2%).
 *
 * @example
 * parseRate('2%', '--threshold'); // 0.02
 */
export function parseRate(value: string, name: string): number {
  const n = parseNumber(value, name);
  return value.trim().endsWith('%') ? n / 100 : n;
}

/**
 * One line describing a rule.
 *
 * @example
 * breakerLine({ id: 'home-crash', scope: 'module', target: 'home', metric: 'crash', threshold: 0.02,
 *   action: 'disable', windowMinutes: 30 });
 * // 'home-crash  module home  crash > 2%  over 30 min → disable'
 */
export function breakerLine(b: BreakerBody): string {
  return `${cell(b.id)}  ${cell(b.scope)} ${cell(b.target)}  ${cell(b.metric)} > ${+(b.threshold * 100).toFixed(4)}%  over ${b.windowMinutes} min → ${cell(b.action)}`;
}

/**
 * Registers `halftone breaker add|list|rm --app APP`: circuit-breaker rules that disable a
 * package, halt and roll back its release, or only notify when its crash or ANR rate crosses a
 * threshold.
 *
 * @example
 * registerBreakerCommands(program, runtime);
 * // halftone breaker add --app shop --id home-crash --scope module --target home --metric crash --threshold 2% --action disable
 */
export function registerBreakerCommands(program: Command, runtime: CommandRuntime): void {
  const breaker = program.command('breaker').description('circuit breakers: act when a package or module crashes too often');

  breaker
    .command('add')
    .description('add a circuit-breaker rule')
    .requiredOption('--app <app>', 'app id')
    .requiredOption('--id <id>', 'rule id (unique in the app)')
    .addOption(new Option('--scope <scope>', 'what the rule watches: a package id or a module name').choices(['package', 'module']).makeOptionMandatory())
    .requiredOption('--target <target>', 'the package id (scope package) or module name (scope module)')
    .addOption(new Option('--metric <metric>', 'the rate watched').choices(['crash', 'anr']).default('crash'))
    .requiredOption('--threshold <rate>', 'rate that trips the breaker: 0.02 or 2%')
    .addOption(
      new Option('--action <action>', 'what to do when it trips').choices(['disable', 'halt_and_rollback', 'notify']).makeOptionMandatory(),
    )
    .option('--min-sessions <n>', 'sessions needed before it can trip (default 50)')
    .option('--alpha <a>', 'one-sided significance of the trip (default 0.001)')
    .option('--window-minutes <m>', 'window the rate is read over (default: the server\'s, 30)')
    .action(async (opts: AddOptions, command: Command) => {
      const ctx = runtime.contextFor(command);
      const json: Record<string, unknown> = {
        id: opts.id,
        scope: opts.scope,
        target: opts.target,
        metric: opts.metric,
        threshold: parseRate(opts.threshold, '--threshold'),
        action: opts.action,
      };
      if (opts.minSessions !== undefined) json.minSessions = parseNumber(opts.minSessions, '--min-sessions');
      if (opts.alpha !== undefined) json.alpha = parseNumber(opts.alpha, '--alpha');
      if (opts.windowMinutes !== undefined) json.windowMinutes = parseNumber(opts.windowMinutes, '--window-minutes');
      const body = await ctx.api().send<BreakerBody>({ method: 'POST', path: apiPath`/admin/v1/apps/${opts.app}/breakers`, json });
      ctx.emit(body, () => `Added breaker ${breakerLine(body)}`);
    });

  breaker
    .command('list')
    .description("list an app's circuit-breaker rules and what they fired")
    .requiredOption('--app <app>', 'app id')
    .action(async (opts: { app: string }, command: Command) => {
      const ctx = runtime.contextFor(command);
      const body = await ctx.api().send<{ breakers: BreakerBody[] }>({ method: 'GET', path: apiPath`/admin/v1/apps/${opts.app}/breakers` });
      ctx.emit(body, () =>
        body.breakers.length === 0
          ? 'No breakers.'
          : formatTable(
              ['ID', 'SCOPE', 'TARGET', 'METRIC', 'THRESHOLD', 'WINDOW', 'ACTION', 'FIRED'],
              body.breakers.map((b) => [
                cell(b.id),
                cell(b.scope),
                cell(b.target),
                cell(b.metric),
                `${+(b.threshold * 100).toFixed(4)}%`,
                `${b.windowMinutes}m`,
                cell(b.action),
                (b.fired ?? []).length === 0 ? '-' : (b.fired ?? []).map((f) => `${f.subject}@${f.firedAt}`).join(', '),
              ]),
            ),
      );
    });

  breaker
    .command('rm')
    .description('remove a circuit-breaker rule')
    .requiredOption('--app <app>', 'app id')
    .argument('<id>', 'rule id')
    .action(async (id: string, opts: { app: string }, command: Command) => {
      const ctx = runtime.contextFor(command);
      await ctx.api().send<unknown>({ method: 'DELETE', path: apiPath`/admin/v1/apps/${opts.app}/breakers/${id}` });
      ctx.emit({ removed: id }, () => `Removed breaker ${id}`);
    });
}
