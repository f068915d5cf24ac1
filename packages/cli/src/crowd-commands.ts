import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { apiPath } from './api-client.js';
import type { CrowdBody } from './admin-types.js';
import { usageError } from './cli-error.js';
import type { CommandRuntime } from './command-context.js';
import { cell, formatTable } from './output.js';

/**
 * Reads crowd members from a file: one per line, surrounding spaces and blank lines ignored.
 *
 * @example
 * readMembersFile('testers.txt', process.cwd()); // ['u-1', 'u-2']
 */
export function readMembersFile(file: string, cwd: string): string[] {
  let text: string;
  try {
    text = readFileSync(resolve(cwd, file), 'utf8');
  } catch (err) {
    throw usageError(`cannot read --members-file ${file}: ${(err as Error).message}`);
  }
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
}

function splitMembers(value: string): string[] {
  return value
    .split(',')
    .map((m) => m.trim())
    .filter((m) => m !== '');
}

/**
 * Registers `halftone crowd set|list`: named user/device lists that releases can target.
 *
 * @example
 * registerCrowdCommands(program, runtime);
 * // halftone crowd set shop employees --members-file employees.txt
 */
export function registerCrowdCommands(program: Command, runtime: CommandRuntime): void {
  const crowd = program
    .command('crowd')
    .description('manage crowds (named lists of users or devices)');

  crowd
    .command('set')
    .description('create or replace a crowd')
    .argument('<app>', 'app id')
    .argument('<name>', 'crowd name')
    .option('--members <ids>', 'comma-separated user or device ids')
    .option('--members-file <file>', 'file with one user or device id per line')
    .action(
      async (
        app: string,
        name: string,
        opts: { members?: string; membersFile?: string },
        command: Command,
      ) => {
        const ctx = runtime.contextFor(command);
        if ((opts.members === undefined) === (opts.membersFile === undefined)) {
          throw usageError('give exactly one of --members or --members-file');
        }
        const members =
          opts.members !== undefined
            ? splitMembers(opts.members)
            : readMembersFile(opts.membersFile ?? '', ctx.io.cwd);
        const body = await ctx.api().send<CrowdBody>({
          method: 'PUT',
          path: apiPath`/admin/v1/apps/${app}/crowds/${name}`,
          json: { members },
        });
        const count = body.members?.length ?? members.length;
        ctx.emit(
          body,
          () => `Crowd ${name} of app ${app} now has ${count} member${count === 1 ? '' : 's'}.`,
        );
      },
    );

  crowd
    .command('list')
    .description("list an app's crowds")
    .argument('<app>', 'app id')
    .action(async (app: string, _opts: unknown, command: Command) => {
      const ctx = runtime.contextFor(command);
      const body = await ctx.api().send<{ crowds?: CrowdBody[] }>({
        method: 'GET',
        path: apiPath`/admin/v1/apps/${app}/crowds`,
      });
      const crowds = body.crowds ?? [];
      ctx.emit(body, () =>
        crowds.length === 0
          ? `No crowds in app ${app}.`
          : formatTable(
              ['NAME', 'MEMBERS', 'UPDATED'],
              crowds.map((c) => [cell(c.name), String(c.members?.length ?? 0), cell(c.updatedAt)]),
            ),
      );
    });
}
