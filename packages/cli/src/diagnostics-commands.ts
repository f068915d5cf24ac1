import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, readFileSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { Agent, request } from 'undici';
import { apiPath } from './api-client.js';
import { CliError, EXIT, exitCodeForStatus, type Problem, usageError } from './cli-error.js';
import { ADMIN_TOKEN_FILE, type CommandRuntime } from './command-context.js';
import { parseJsonArgument } from './option-parsers.js';
import { cell, formatBytes, formatTable } from './output.js';

/** A diagnostic command as the admin API shows it. */
export interface DiagnosticBody {
  readonly id: string;
  readonly app?: string;
  readonly target?: { readonly type: string; readonly id: string };
  readonly kind: string;
  readonly params?: Record<string, unknown>;
  readonly note?: string | null;
  readonly state: string;
  readonly createdAt?: string;
  readonly expiresAt?: string;
  readonly deliveredAt?: string | null;
  readonly deliveredTo?: string | null;
  readonly uploadedAt?: string | null;
  readonly upload?: { readonly size: number; readonly sha256: string; readonly contentType: string; readonly deviceId: string } | null;
  readonly history?: readonly { readonly state: string; readonly at: string }[];
}

/** The kinds a command can have. */
export const DIAGNOSTIC_KINDS = ['upload_logs', 'upload_crash_dumps', 'custom'] as const;
/** The states a command can be listed by. */
export const DIAGNOSTIC_STATES = ['pending', 'delivered', 'uploaded', 'cancelled', 'expired'] as const;

const UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/**
 * Commander parser for `--expires`: a number of seconds, or a number with a unit `s`, `m`, `h`,
 * `d` or `w`; returns seconds.
 *
 * @example
 * parseDuration('3d'); // 259200
 * parseDuration('90'); // 90
 */
export function parseDuration(value: string): number {
  const m = /^\s*(\d{1,9})\s*([smhdw]?)\s*$/i.exec(value);
  const seconds = m === null ? 0 : Number(m[1]) * (UNIT_SECONDS[(m[2] || 's').toLowerCase()] ?? 0);
  if (!Number.isSafeInteger(seconds) || seconds <= 0) {
    throw new InvalidArgumentError('expected a duration such as 3d, 12h, 30m or 90 (seconds).');
  }
  return seconds;
}

function parsePositiveInteger(value: string): number {
  if (!/^\s*\d{1,6}\s*$/.test(value) || Number(value) < 1) throw new InvalidArgumentError('expected a positive whole number.');
  return Number(value);
}

function targetText(d: DiagnosticBody): string {
  return d.target === undefined ? '-' : `${d.target.type}:${d.target.id}`;
}

/**
 * The human form of one command: its fields, then its state history.
 *
 * @example
 * describeDiagnostic({ id: 'diag_1', kind: 'upload_logs', state: 'pending', target: { type: 'device', id: 'd1' } });
 */
export function describeDiagnostic(d: DiagnosticBody): string {
  const lines = [
    `id:       ${cell(d.id)}`,
    `kind:     ${cell(d.kind)}  ${cell(d.params)}`,
    `target:   ${targetText(d)}`,
    `state:    ${cell(d.state)}`,
    `expires:  ${cell(d.expiresAt)}`,
  ];
  if (d.note) lines.push(`note:     ${d.note}`);
  if (d.deliveredTo) lines.push(`delivered to: ${d.deliveredTo}`);
  if (d.upload) {
    lines.push(
      `upload:   ${formatBytes(d.upload.size)} (${d.upload.size} bytes) ${d.upload.contentType} from ${d.upload.deviceId}`,
      `sha256:   ${d.upload.sha256}`,
    );
  }
  for (const h of d.history ?? []) lines.push(`  ${h.at}  ${h.state}`);
  return lines.join('\n');
}

interface RequestOptions {
  readonly app: string;
  readonly device?: string;
  readonly user?: string;
  readonly kind: string;
  readonly sinceHours?: number;
  readonly payload?: string;
  readonly expires?: number;
  readonly note?: string;
}

/** The global options a download needs besides what the API client resolves. */
interface GlobalOptions {
  readonly token?: string;
  readonly timeout?: number;
}

function resolveToken(flag: string | undefined, env: Readonly<Record<string, string | undefined>>, cwd: string): string | undefined {
  const given = flag ?? (env.HALFTONE_TOKEN === '' ? undefined : env.HALFTONE_TOKEN);
  if (given !== undefined) return given;
  try {
    return readFileSync(join(cwd, ADMIN_TOKEN_FILE), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET']);

/**
 * Streams `GET path` into `out` (through a temporary file renamed at the end, so `out` is either
 * the whole file or untouched), checking the SHA-256 the server names in `X-Halftone-Sha256`.
 */
async function downloadTo(
  baseUrl: string,
  path: string,
  token: string | undefined,
  timeoutMs: number,
  out: string,
): Promise<{ size: number; sha256: string; contentType: string }> {
  const agent = new Agent({ connect: { timeout: timeoutMs } });
  const temp = join(dirname(out), `.${basename(out)}.${randomBytes(6).toString('hex')}.part`);
  try {
    let res: Awaited<ReturnType<typeof request>>;
    try {
      res = await request(baseUrl + path, {
        method: 'GET',
        headers: { accept: '*/*', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
        dispatcher: agent,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
    } catch (err) {
      const code = (err as { code?: unknown; cause?: { code?: unknown } }).code ?? (err as { cause?: { code?: unknown } }).cause?.code;
      if (typeof code === 'string' && UNREACHABLE.has(code)) {
        throw new CliError('HT_CLI_UNREACHABLE', `cannot reach the Halftone server at ${baseUrl} (${code})`, EXIT.UNREACHABLE);
      }
      throw err;
    }
    if (res.statusCode < 200 || res.statusCode >= 300) {
      const text = await res.body.text();
      let problem: Problem | undefined;
      try {
        problem = JSON.parse(text) as Problem;
      } catch {
        problem = undefined;
      }
      if (problem !== undefined && typeof problem.code === 'string') {
        throw new CliError(problem.code, problem.detail ?? problem.title ?? `HTTP ${res.statusCode}`, exitCodeForStatus(res.statusCode), problem);
      }
      throw new CliError('HT_CLI_HTTP_ERROR', `GET ${path} answered HTTP ${res.statusCode}`, exitCodeForStatus(res.statusCode));
    }
    const expected = String(res.headers['x-halftone-sha256'] ?? '');
    const hash = createHash('sha256');
    let size = 0;
    const tap = new Transform({
      transform(chunk: Buffer, _enc, done) {
        hash.update(chunk);
        size += chunk.length;
        done(null, chunk);
      },
    });
    await pipeline(res.body, tap, createWriteStream(temp, { flags: 'wx' }));
    const sha256 = hash.digest('hex');
    if (expected !== '' && expected !== sha256) {
      throw new CliError('HT_CLI_BAD_RESPONSE', `the download's SHA-256 is ${sha256}, the server announced ${expected}`, EXIT.FAILURE);
    }
    await rename(temp, out);
    return { size, sha256, contentType: String(res.headers['content-type'] ?? 'application/octet-stream') };
  } finally {
    await rm(temp, { force: true }).catch(() => {});
    await agent.close();
  }
}

/**
 * Registers `halftone diag request|list|show|cancel|download`: diagnostic commands sent to one
 * device or user, and the files devices upload in answer.
 *
 * @example
 * registerDiagnosticsCommands(program, runtime);
 * // halftone diag request --app shop --device d-42 --kind upload_logs --since-hours 24 --expires 3d
 * // halftone diag download diag_01… --app shop --out logs.gz
 */
export function registerDiagnosticsCommands(program: Command, runtime: CommandRuntime): void {
  const diag = program.command('diag').description('ask a device or user for logs or crash dumps, and fetch what they upload');

  diag
    .command('request')
    .description('send a diagnostic command to one device (--device) or every device of one user (--user)')
    .requiredOption('--app <app>', 'app id')
    .option('--device <id>', 'device id')
    .option('--user <id>', 'user id')
    .addOption(new Option('--kind <kind>', 'what to upload').choices(DIAGNOSTIC_KINDS).makeOptionMandatory())
    .addOption(new Option('--since-hours <n>', 'upload_logs (required) / upload_crash_dumps: how far back').argParser(parsePositiveInteger))
    .option('--payload <json>', 'custom: the parameters the device receives, as JSON or @file.json')
    .addOption(new Option('--expires <duration>', 'how long it waits for the upload, e.g. 3d, 12h (default: the server’s, 7d)').argParser(parseDuration))
    .option('--note <text>', 'why (shown to releasers)')
    .action(async (opts: RequestOptions, command: Command) => {
      const ctx = runtime.contextFor(command);
      if ((opts.device === undefined) === (opts.user === undefined)) throw usageError('give exactly one of --device and --user');
      const payload = opts.payload === undefined ? undefined : parseJsonArgument(opts.payload, '--payload', ctx.io.cwd);
      if (payload !== undefined && (typeof payload !== 'object' || payload === null || Array.isArray(payload))) {
        throw usageError('--payload must be a JSON object');
      }
      const json: Record<string, unknown> = { kind: opts.kind };
      const optional: Record<string, unknown> = {
        deviceId: opts.device,
        userId: opts.user,
        sinceHours: opts.sinceHours,
        payload,
        expiresInSeconds: opts.expires,
        note: opts.note,
      };
      for (const [key, value] of Object.entries(optional)) if (value !== undefined) json[key] = value;
      const body = await ctx.api().send<DiagnosticBody>({ method: 'POST', path: apiPath`/admin/v1/apps/${opts.app}/diagnostics`, json });
      ctx.emit(body, () => `Requested ${body.id} (${body.kind}) for ${targetText(body)}; expires ${cell(body.expiresAt)}`);
    });

  diag
    .command('list')
    .description("list an app's diagnostic commands, newest first")
    .requiredOption('--app <app>', 'app id')
    .addOption(new Option('--state <state>', 'only commands in this state').choices(DIAGNOSTIC_STATES))
    .option('--device <id>', 'only commands for this device')
    .option('--user <id>', 'only commands for this user')
    .addOption(new Option('--limit <n>', 'page size (default 50, at most 200)').argParser(parsePositiveInteger))
    .option('--cursor <id>', 'the next page (printed after a full page)')
    .action(
      async (
        opts: { app: string; state?: string; device?: string; user?: string; limit?: number; cursor?: string },
        command: Command,
      ) => {
        const ctx = runtime.contextFor(command);
        const body = await ctx.api().send<{ commands?: DiagnosticBody[]; nextCursor?: string | null }>({
          method: 'GET',
          path: apiPath`/admin/v1/apps/${opts.app}/diagnostics`,
          query: {
            state: opts.state,
            device: opts.device,
            user: opts.user,
            limit: opts.limit === undefined ? undefined : String(opts.limit),
            cursor: opts.cursor,
          },
        });
        const commands = body.commands ?? [];
        ctx.emit(body, () => {
          if (commands.length === 0) return `No diagnostic commands in app ${opts.app}.`;
          const table = formatTable(
            ['ID', 'KIND', 'TARGET', 'STATE', 'CREATED', 'EXPIRES'],
            commands.map((d) => [cell(d.id), cell(d.kind), targetText(d), cell(d.state), cell(d.createdAt), cell(d.expiresAt)]),
          );
          return body.nextCursor ? `${table}\n\nMore: --cursor ${body.nextCursor}` : table;
        });
      },
    );

  diag
    .command('show')
    .description('show a diagnostic command and the times of its states')
    .argument('<id>', 'command id')
    .requiredOption('--app <app>', 'app id')
    .action(async (id: string, opts: { app: string }, command: Command) => {
      const ctx = runtime.contextFor(command);
      const body = await ctx.api().send<DiagnosticBody>({ method: 'GET', path: apiPath`/admin/v1/apps/${opts.app}/diagnostics/${id}` });
      ctx.emit(body, () => describeDiagnostic(body));
    });

  diag
    .command('cancel')
    .description('cancel a pending or delivered command (its upload will be refused)')
    .argument('<id>', 'command id')
    .requiredOption('--app <app>', 'app id')
    .action(async (id: string, opts: { app: string }, command: Command) => {
      const ctx = runtime.contextFor(command);
      const body = await ctx.api().send<DiagnosticBody>({ method: 'DELETE', path: apiPath`/admin/v1/apps/${opts.app}/diagnostics/${id}` });
      ctx.emit(body, () => `Cancelled ${body.id} (${body.state})`);
    });

  diag
    .command('download')
    .description('save the file a device uploaded for a command (checked against its SHA-256)')
    .argument('<id>', 'command id')
    .requiredOption('--app <app>', 'app id')
    .requiredOption('--out <file>', 'where to save it')
    .action(async (id: string, opts: { app: string; out: string }, command: Command) => {
      const ctx = runtime.contextFor(command);
      const global = command.optsWithGlobals<GlobalOptions>();
      const out = resolve(ctx.io.cwd, opts.out);
      const saved = await downloadTo(
        ctx.api().baseUrl,
        apiPath`/admin/v1/apps/${opts.app}/diagnostics/${id}/upload`,
        resolveToken(global.token, ctx.io.env, ctx.io.cwd),
        global.timeout ?? 30_000,
        out,
      );
      ctx.emit({ id, file: out, ...saved }, () => `Saved ${saved.size} bytes to ${opts.out} (sha256 ${saved.sha256})`);
    });
}
