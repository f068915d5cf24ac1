import { cp, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { apiPath } from './api-client.js';
import { usageError } from './cli-error.js';
import type { CommandContext, CommandRuntime } from './command-context.js';
import { createMultipartBody } from './multipart-body.js';
import { cell, formatTable } from './output.js';
import { zipDirectory } from './zip-directory.js';

/** A CodePush deployment as the admin API answers it. */
export interface DeploymentBody {
  readonly name: string;
  readonly platform: string;
  readonly key: string;
  readonly bucketing: string;
  readonly module: string;
}

/** A CodePush label as the admin API answers it. */
export interface LabelBody {
  readonly label: string;
  readonly appVersion: string;
  readonly packageHash: string;
  readonly size: number;
  readonly isMandatory: boolean;
  readonly isDisabled: boolean;
  readonly rollout: number;
  readonly description: string | null;
  readonly releaseId: string;
  readonly releasedFrom: string | null;
}

/**
 * One line describing a label, like the old CLI's `deployment history` row.
 *
 * @example
 * labelLine({ label: 'v3', appVersion: '1.0.x', rollout: 25, isMandatory: true, isDisabled: false, … });
 * // 'v3  app=1.0.x  rollout=25%  mandatory  hash=…  release=rel_…'
 */
export function labelLine(l: LabelBody): string {
  return [
    cell(l.label),
    `app=${cell(l.appVersion)}`,
    `rollout=${l.rollout}%`,
    ...(l.isMandatory ? ['mandatory'] : []),
    ...(l.isDisabled ? ['disabled'] : []),
    ...(l.releasedFrom ? [`from=${cell(l.releasedFrom)}`] : []),
    `hash=${cell(l.packageHash)}`,
    `release=${cell(l.releaseId)}`,
  ].join('  ');
}

/** `--rollout P`: a percentage above 0, at most 100. */
export function parseRollout(value: string): number {
  const n = Number(value.endsWith('%') ? value.slice(0, -1) : value);
  if (!Number.isFinite(n) || n <= 0 || n > 100) throw usageError(`--rollout must be above 0 and at most 100, got ${JSON.stringify(value)}`);
  return n;
}

/** `--mandatory B` / `--disabled B` on patch: true or false. */
export function parseBool(value: string): boolean {
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw usageError(`expected true or false, got ${JSON.stringify(value)}`);
}

const parseLabel = (value: string): string => {
  if (!/^v[1-9][0-9]*$/.test(value)) throw usageError(`a label looks like v3, got ${JSON.stringify(value)}`);
  return value;
};

interface ReleaseOptions {
  readonly targetBinaryVersion: string;
  readonly mandatory?: boolean;
  readonly rollout?: number;
  readonly description?: string;
  readonly disabled?: boolean;
}

async function upload(ctx: CommandContext, app: string, deployment: string, target: string, opts: ReleaseOptions): Promise<LabelBody> {
  const path = resolve(ctx.io.cwd, target);
  const stats = await stat(path).catch((err: NodeJS.ErrnoException) => {
    throw usageError(`cannot read ${target}: ${err.code === 'ENOENT' ? 'no such file or directory' : err.message}`);
  });
  const fields: [string, string][] = [['targetBinaryVersion', opts.targetBinaryVersion]];
  if (opts.mandatory) fields.push(['mandatory', 'true']);
  if (opts.disabled) fields.push(['disabled', 'true']);
  if (opts.rollout !== undefined) fields.push(['rollout', String(opts.rollout)]);
  if (opts.description !== undefined) fields.push(['description', opts.description]);
  const send = (file: string, size: number) =>
    ctx.api().send<LabelBody>({
      method: 'POST',
      path: apiPath`/admin/v1/apps/${app}/codepush/deployments/${deployment}/release`,
      body: createMultipartBody(fields, { field: 'package', path: file, filename: basename(file), contentType: 'application/octet-stream', size }),
    });
  if (!stats.isDirectory()) return send(path, stats.size);
  // A directory (e.g. the output of `react-native bundle`) is zipped as it is, top folder included
  // as CodePush did: the package hash covers `<dir name>/…` paths.
  const tempDir = await mkdtemp(join(tmpdir(), 'halftone-codepush-'));
  try {
    const zipPath = join(tempDir, 'package.zip');
    const root = join(tempDir, 'root');
    await cp(path, join(root, basename(path)), { recursive: true });
    await zipDirectory(root, zipPath);
    return await send(zipPath, (await stat(zipPath)).size);
  } finally {
    await rm(tempDir, { recursive: true, force: true });
  }
}

/**
 * Registers `halftone codepush …`: deployments and their keys, and release / promote / rollback /
 * patch with the meaning of the old `code-push` / `appcenter codepush` CLI.
 *
 * @example
 * registerCodePushCommands(program, runtime);
 * // halftone codepush release shop Production ./CodePush --target-binary-version 1.0.x --rollout 25
 */
export function registerCodePushCommands(program: Command, runtime: CommandRuntime): void {
  const cp = program.command('codepush').description('CodePush-compatible deployments (react-native-code-push apps)');
  const dep = cp.command('deployment').description('deployments and their keys');
  dep
    .command('add')
    .description('add a deployment and print its deployment key')
    .argument('<app>', 'app id')
    .argument('<name>', 'deployment name, e.g. Staging or Production')
    .option('--platform <platform>', 'platform it serves (needed when the app has several)')
    .option('--key <key>', 'keep an existing deployment key (migration)')
    .addOption(new Option('--bucketing <mode>', 'rollout bucketing: halftone, or codepush to keep the old server\'s devices').choices(['halftone', 'codepush']))
    .action(async (app: string, name: string, opts: { platform?: string; key?: string; bucketing?: string }, command: Command) => {
      const ctx = runtime.contextFor(command);
      const body = await ctx.api().send<DeploymentBody>({
        method: 'POST',
        path: apiPath`/admin/v1/apps/${app}/codepush/deployments`,
        json: { name, ...opts },
      });
      ctx.emit(body, () => `Added deployment ${cell(body.name)} (${cell(body.platform)}) to ${app}\nkey: ${cell(body.key)}`);
    });
  dep
    .command('ls')
    .description('list deployments with their keys (or show one)')
    .argument('<app>', 'app id')
    .argument('[name]', 'one deployment')
    .action(async (app: string, name: string | undefined, _opts: unknown, command: Command) => {
      const ctx = runtime.contextFor(command);
      const body =
        name === undefined
          ? await ctx.api().send<{ deployments: DeploymentBody[] }>({ method: 'GET', path: apiPath`/admin/v1/apps/${app}/codepush/deployments` })
          : { deployments: [await ctx.api().send<DeploymentBody>({ method: 'GET', path: apiPath`/admin/v1/apps/${app}/codepush/deployments/${name}` })] };
      ctx.emit(body, () =>
        formatTable(['NAME', 'PLATFORM', 'BUCKETING', 'KEY'], body.deployments.map((d) => [d.name, d.platform, d.bucketing, d.key])),
      );
    });
  cp.command('history')
    .description('labels of a deployment, oldest first')
    .argument('<app>', 'app id')
    .argument('<deployment>', 'deployment name')
    .action(async (app: string, deployment: string, _opts: unknown, command: Command) => {
      const ctx = runtime.contextFor(command);
      const body = await ctx.api().send<{ releases: LabelBody[] }>({
        method: 'GET',
        path: apiPath`/admin/v1/apps/${app}/codepush/deployments/${deployment}/history`,
      });
      ctx.emit(body, () => body.releases.map(labelLine).join('\n') || '(no releases)');
    });
  cp.command('release')
    .description('release a package (directory, .zip or bundle) to a deployment as its next label')
    .argument('<app>', 'app id')
    .argument('<deployment>', 'deployment name')
    .argument('<path>', 'directory, .zip or raw bundle')
    .requiredOption('--target-binary-version <range>', 'binary versions it runs on: 1.0.x, ^1.2.0, ">=1.0.0 <2.0.0", *')
    .option('--mandatory', 'devices must install it')
    .option('--rollout <percent>', 'percentage of devices (default 100)', parseRollout)
    .option('--description <text>', 'release notes')
    .option('--disabled', 'release it disabled (no device gets it until patched)')
    .action(async (app: string, deployment: string, target: string, opts: ReleaseOptions, command: Command) => {
      const ctx = runtime.contextFor(command);
      const body = await upload(ctx, app, deployment, target, opts);
      ctx.emit(body, () => `Released ${labelLine(body)}`);
    });
  cp.command('promote')
    .description('release the latest label of one deployment to another')
    .argument('<app>', 'app id')
    .argument('<from>', 'source deployment')
    .argument('<to>', 'target deployment')
    .option('--label <label>', 'promote this label instead of the latest', parseLabel)
    .option('--target-binary-version <range>', 'another binary range')
    .option('--mandatory <bool>', 'override the mandatory flag', parseBool)
    .option('--rollout <percent>', 'percentage of devices', parseRollout)
    .option('--description <text>', 'other release notes')
    .option('--disabled <bool>', 'override the disabled flag', parseBool)
    .action(async (app: string, from: string, to: string, opts: Record<string, unknown>, command: Command) => {
      const ctx = runtime.contextFor(command);
      const body = await ctx.api().send<LabelBody>({
        method: 'POST',
        path: apiPath`/admin/v1/apps/${app}/codepush/deployments/${from}/promote/${to}`,
        json: opts,
      });
      ctx.emit(body, () => `Promoted to ${to}: ${labelLine(body)}`);
    });
  cp.command('rollback')
    .description('re-release the previous label (or --target-release) as a new label')
    .argument('<app>', 'app id')
    .argument('<deployment>', 'deployment name')
    .option('--target-release <label>', 'the label to go back to', parseLabel)
    .action(async (app: string, deployment: string, opts: { targetRelease?: string }, command: Command) => {
      const ctx = runtime.contextFor(command);
      const body = await ctx.api().send<LabelBody>({
        method: 'POST',
        path: apiPath`/admin/v1/apps/${app}/codepush/deployments/${deployment}/rollback`,
        json: opts.targetRelease === undefined ? {} : { targetRelease: opts.targetRelease },
      });
      ctx.emit(body, () => `Rolled back ${deployment}: ${labelLine(body)}`);
    });
  cp.command('patch')
    .description('change the latest label (or --label): rollout, mandatory, disabled, description, range')
    .argument('<app>', 'app id')
    .argument('<deployment>', 'deployment name')
    .option('--label <label>', 'the label to change (default: the latest)', parseLabel)
    .option('--rollout <percent>', 'raise the rollout', parseRollout)
    .option('--mandatory <bool>', 'true or false', parseBool)
    .option('--disabled <bool>', 'true or false', parseBool)
    .option('--description <text>', 'release notes')
    .option('--target-binary-version <range>', 'binary range')
    .action(async (app: string, deployment: string, opts: Record<string, unknown>, command: Command) => {
      const ctx = runtime.contextFor(command);
      if (Object.keys(opts).filter((k) => k !== 'label').length === 0) {
        throw usageError('nothing to change: pass --rollout, --mandatory, --disabled, --description or --target-binary-version');
      }
      const body = await ctx.api().send<LabelBody>({
        method: 'PATCH',
        path: apiPath`/admin/v1/apps/${app}/codepush/deployments/${deployment}/release`,
        json: opts,
      });
      ctx.emit(body, () => `Patched ${labelLine(body)}`);
    });
  cp.command('metrics')
    .description('report counters per label')
    .argument('<app>', 'app id')
    .argument('<deployment>', 'deployment name')
    .action(async (app: string, deployment: string, _opts: unknown, command: Command) => {
      const ctx = runtime.contextFor(command);
      const body = await ctx.api().send<{ metrics: Record<string, Record<string, number>> }>({
        method: 'GET',
        path: apiPath`/admin/v1/apps/${app}/codepush/deployments/${deployment}/metrics`,
      });
      const cols = ['active', 'downloaded', 'installed', 'failed', 'rolledBack', 'ignored'];
      ctx.emit(body, () =>
        formatTable(['LABEL', ...cols.map((c) => c.toUpperCase())], Object.entries(body.metrics).map(([l, m]) => [l || '(ignored)', ...cols.map((c) => String(m[c] ?? 0))])),
      );
    });
}
