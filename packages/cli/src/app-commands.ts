import { type Command, InvalidArgumentError, Option } from 'commander';
import { apiPath } from './api-client.js';
import type { AppBody } from './admin-types.js';
import type { CommandRuntime } from './command-context.js';
import { collectList } from './option-parsers.js';
import { cell, formatTable } from './output.js';

/** The platforms an app may target. */
export const PLATFORMS = ['android', 'ios'] as const;

function collectPlatforms(value: string, previous: string[] | undefined): string[] {
  const platforms = collectList(value, previous);
  const unknown = platforms.filter((p) => !(PLATFORMS as readonly string[]).includes(p));
  if (unknown.length > 0) {
    throw new InvalidArgumentError(
      `expected ${PLATFORMS.join(' or ')}, got ${unknown.join(', ')}.`,
    );
  }
  return [...new Set(platforms)];
}

function describeApp(app: AppBody): string {
  return [
    `id:         ${cell(app.id)}`,
    `name:       ${cell(app.name)}`,
    `platforms:  ${cell(app.platforms)}`,
    `client key: ${cell(app.clientKey)}`,
    `created:    ${cell(app.createdAt)}`,
  ].join('\n');
}

/**
 * Registers `halftone app create|list|show|keys`.
 *
 * @example
 * registerAppCommands(program, runtime);
 * // halftone app create shop --platform android,ios --name "Shop"
 */
export function registerAppCommands(program: Command, runtime: CommandRuntime): void {
  const app = program.command('app').description('manage apps');

  app
    .command('create')
    .description('create an app')
    .argument('<id>', 'app id (used in URLs and by the SDK)')
    .addOption(
      new Option('--platform <platform>', 'android or ios; repeat or use a comma list')
        .argParser(collectPlatforms)
        .makeOptionMandatory(),
    )
    .option('--name <display>', 'display name')
    .action(async (id: string, opts: { platform: string[]; name?: string }, command: Command) => {
      const ctx = runtime.contextFor(command);
      const body = await ctx.api().send<AppBody>({
        method: 'POST',
        path: '/admin/v1/apps',
        json: {
          id,
          ...(opts.name === undefined ? {} : { name: opts.name }),
          platforms: opts.platform,
        },
      });
      ctx.emit(body, () => `Created app ${body.id}\n${describeApp(body)}`);
    });

  app
    .command('list')
    .description('list apps')
    .action(async (_opts: unknown, command: Command) => {
      const ctx = runtime.contextFor(command);
      const body = await ctx
        .api()
        .send<{ apps?: AppBody[] }>({ method: 'GET', path: '/admin/v1/apps' });
      const apps = body.apps ?? [];
      ctx.emit(body, () =>
        apps.length === 0
          ? 'No apps.'
          : formatTable(
              ['ID', 'NAME', 'PLATFORMS', 'CREATED'],
              apps.map((a) => [cell(a.id), cell(a.name), cell(a.platforms), cell(a.createdAt)]),
            ),
      );
    });

  app
    .command('show')
    .description('show one app, with its client key')
    .argument('<id>', 'app id')
    .action(async (id: string, _opts: unknown, command: Command) => {
      const ctx = runtime.contextFor(command);
      const body = await ctx
        .api()
        .send<AppBody>({ method: 'GET', path: apiPath`/admin/v1/apps/${id}` });
      ctx.emit(body, () => describeApp(body));
    });

  app
    .command('keys')
    .description('the client key of each environment (test, production); production is the app\'s clientKey')
    .argument('<id>', 'app id')
    .action(async (id: string, _opts: unknown, command: Command) => {
      const ctx = runtime.contextFor(command);
      const body = await ctx
        .api()
        .send<Record<string, string>>({ method: 'GET', path: apiPath`/admin/v1/apps/${id}/keys` });
      ctx.emit(body, () =>
        formatTable(
          ['ENV', 'CLIENT KEY'],
          Object.entries(body).map(([env, key]) => [cell(env), cell(key)]),
        ),
      );
    });
}
