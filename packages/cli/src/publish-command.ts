import { mkdtemp, open, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import cliProgress from 'cli-progress';
import { type Command, Option } from 'commander';
import type { PackageBody } from './admin-types.js';
import { apiPath } from './api-client.js';
import { usageError } from './cli-error.js';
import type { CommandContext, CommandRuntime } from './command-context.js';
import { createMultipartBody } from './multipart-body.js';
import { cell, formatBytes } from './output.js';
import { zipDirectory } from './zip-directory.js';

/** The kinds of package the server accepts. */
export const PACKAGE_KINDS = ['h5', 'rn', 'patch', 'mini', 'installer'] as const;

interface PublishOptions {
  readonly app: string;
  readonly module: string;
  readonly version: string;
  readonly kind: (typeof PACKAGE_KINDS)[number];
  readonly platform?: string;
  readonly minAppVersion?: string;
  readonly maxAppVersion?: string;
  readonly fallbackUrl?: string;
  readonly description?: string;
}

/** The optional metadata, in the order the upload sends it, as [wire name, value]. */
function metadata(opts: PublishOptions): [string, string][] {
  const optional: [string, string | undefined][] = [
    ['platform', opts.platform],
    ['minAppVersion', opts.minAppVersion],
    ['maxAppVersion', opts.maxAppVersion],
    ['fallbackUrl', opts.fallbackUrl],
    ['description', opts.description],
  ];
  return optional.filter((entry): entry is [string, string] => entry[1] !== undefined);
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

async function startsWithZipSignature(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(4);
    const { bytesRead } = await handle.read(head, 0, 4, 0);
    const sig = head.subarray(0, bytesRead).toString('latin1');
    return sig === 'PK\x03\x04' || sig === 'PK\x05\x06';
  } finally {
    await handle.close();
  }
}

function describePackage(pkg: PackageBody): string {
  return [
    `Published ${cell(pkg.module)}@${cell(pkg.version)} (${cell(pkg.kind)}) to app ${cell(pkg.appId)}`,
    `id:           ${cell(pkg.id)}`,
    `hash:         ${cell(pkg.hash)}`,
    `content hash: ${cell(pkg.contentHash)}`,
    `size:         ${pkg.size === undefined ? '-' : formatBytes(pkg.size)}`,
    `files:        ${cell(pkg.fileCount)}`,
    `url:          ${cell(pkg.url)}`,
  ].join('\n');
}

/** Uploads a file (streamed) with a progress bar on a terminal. */
async function uploadFile(
  ctx: CommandContext,
  opts: PublishOptions,
  file: { path: string; filename: string; size: number; contentType: string },
): Promise<PackageBody> {
  const showProgress = ctx.io.stdout.isTTY === true && !ctx.json;
  const bar = showProgress
    ? new cliProgress.SingleBar(
        {
          // cli-progress only writes to the stream and reads isTTY/columns (its cursor moves go
          // through readline, which also just writes), so any CliOutput will do.
          stream: ctx.io.stderr as unknown as NodeJS.WritableStream,
          format: 'Uploading {bar} {percentage}% | {sent} of {size}',
          hideCursor: true,
          clearOnComplete: true,
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  const fields: [string, string][] = [
    ['module', opts.module],
    ['version', opts.version],
    ['kind', opts.kind],
    ...metadata(opts),
  ];
  const size = formatBytes(file.size);
  const body = createMultipartBody(fields, { field: 'file', ...file }, (sent) =>
    bar?.update(sent, { sent: formatBytes(sent), size }),
  );
  bar?.start(file.size, 0, { sent: formatBytes(0), size });
  try {
    return await ctx.api().send<PackageBody>({
      method: 'POST',
      path: apiPath`/admin/v1/apps/${opts.app}/packages`,
      body,
    });
  } finally {
    bar?.stop();
  }
}

/**
 * Registers `halftone publish PATH`: uploads a package (a directory is zipped first,
 * deterministically), or records an installer link with `--kind installer URL`.
 *
 * @example
 * registerPublishCommand(program, runtime);
 * // halftone publish ./build --app shop --module home --version 1.4.0 --kind h5
 */
export function registerPublishCommand(program: Command, runtime: CommandRuntime): void {
  program
    .command('publish')
    .description('upload a package (directory, .zip or raw bundle) or register an installer URL')
    .argument('<path>', 'directory, file, or (with --kind installer) an http(s) URL')
    .requiredOption('--app <app>', 'app id')
    .requiredOption('--module <name>', 'business module the package belongs to')
    .requiredOption('--version <version>', 'package version')
    .addOption(
      new Option('--kind <kind>', 'package kind').choices(PACKAGE_KINDS).makeOptionMandatory(),
    )
    .option('--platform <platform>', 'platform the package is for (android, ios)')
    .option('--min-app-version <version>', 'lowest native app version it runs on')
    .option('--max-app-version <version>', 'highest native app version it runs on')
    .option('--fallback-url <url>', 'page clients open when the package cannot be downloaded')
    .option('--description <text>', 'release notes')
    .action(async (target: string, opts: PublishOptions, command: Command) => {
      const ctx = runtime.contextFor(command);
      const body =
        opts.kind === 'installer'
          ? await publishInstaller(ctx, target, opts)
          : await publishPath(ctx, target, opts);
      ctx.emit(body, () => describePackage(body));
    });
}

async function publishInstaller(
  ctx: CommandContext,
  url: string,
  opts: PublishOptions,
): Promise<PackageBody> {
  if (!isHttpUrl(url)) {
    throw usageError(
      `with --kind installer, PATH must be an http(s) URL, got ${JSON.stringify(url)}`,
    );
  }
  return ctx.api().send<PackageBody>({
    method: 'POST',
    path: apiPath`/admin/v1/apps/${opts.app}/packages`,
    json: {
      module: opts.module,
      version: opts.version,
      kind: 'installer',
      url,
      ...Object.fromEntries(metadata(opts)),
    },
  });
}

async function publishPath(
  ctx: CommandContext,
  target: string,
  opts: PublishOptions,
): Promise<PackageBody> {
  if (isHttpUrl(target)) {
    throw usageError('only --kind installer takes a URL; other kinds upload a file or directory');
  }
  const path = resolve(ctx.io.cwd, target);
  const stats = await stat(path).catch((err: NodeJS.ErrnoException) => {
    throw usageError(
      `cannot read ${target}: ${err.code === 'ENOENT' ? 'no such file or directory' : err.message}`,
    );
  });
  if (stats.isDirectory()) {
    const tempDir = await mkdtemp(join(tmpdir(), 'halftone-publish-'));
    try {
      const zipPath = join(tempDir, `${basename(path) || 'package'}.zip`);
      await zipDirectory(path, zipPath);
      const { size } = await stat(zipPath);
      return await uploadFile(ctx, opts, {
        path: zipPath,
        filename: basename(zipPath),
        size,
        contentType: 'application/zip',
      });
    } finally {
      await rm(tempDir, { recursive: true, force: true });
    }
  }
  if (!stats.isFile()) throw usageError(`${target} is not a file or directory`);
  const contentType = (await startsWithZipSignature(path))
    ? 'application/zip'
    : 'application/octet-stream';
  return uploadFile(ctx, opts, { path, filename: basename(path), size: stats.size, contentType });
}
