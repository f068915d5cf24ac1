import type { Command } from 'commander';
import type { PackageBody } from './admin-types.js';
import { apiPath } from './api-client.js';
import type { CommandRuntime } from './command-context.js';
import { cell, formatBytes, formatTable } from './output.js';

function packageState(pkg: PackageBody): string {
  if (pkg.status !== undefined) return pkg.status;
  if (pkg.disabled !== undefined) return pkg.disabled ? 'disabled' : 'enabled';
  return '-';
}

/**
 * Registers `halftone package list|disable|enable`.
 *
 * @example
 * registerPackageCommands(program, runtime);
 * // halftone package disable pkg_01j…
 */
export function registerPackageCommands(program: Command, runtime: CommandRuntime): void {
  const pkg = program.command('package').description('list, disable and enable published packages');

  pkg
    .command('list')
    .description("list an app's packages")
    .requiredOption('--app <app>', 'app id')
    .option('--module <name>', 'only this module')
    .action(async (opts: { app: string; module?: string }, command: Command) => {
      const ctx = runtime.contextFor(command);
      const body = await ctx.api().send<{ packages?: PackageBody[] }>({
        method: 'GET',
        path: apiPath`/admin/v1/apps/${opts.app}/packages`,
        query: { module: opts.module },
      });
      const packages = body.packages ?? [];
      ctx.emit(body, () =>
        packages.length === 0
          ? `No packages in app ${opts.app}.`
          : formatTable(
              ['ID', 'MODULE', 'VERSION', 'KIND', 'PLATFORM', 'SIZE', 'STATE', 'CREATED'],
              packages.map((p) => [
                cell(p.id),
                cell(p.module),
                cell(p.version),
                cell(p.kind),
                cell(p.platform),
                p.size === undefined ? '-' : formatBytes(p.size),
                packageState(p),
                cell(p.createdAt),
              ]),
            ),
      );
    });

  for (const verb of ['disable', 'enable'] as const) {
    pkg
      .command(verb)
      .description(
        verb === 'disable'
          ? 'stop offering a package (clients fall back to its fallback URL)'
          : 'offer a disabled package again',
      )
      .argument('<id>', 'package id')
      .action(async (id: string, _opts: unknown, command: Command) => {
        const ctx = runtime.contextFor(command);
        const body = await ctx.api().send<PackageBody>({
          method: 'POST',
          path: apiPath`/admin/v1/packages/${id}/${verb}`,
          json: {},
        });
        ctx.emit(body, () => `Package ${cell(body.id ?? id)} ${verb}d.`);
      });
  }
}
