import { type Command, InvalidArgumentError, Option } from 'commander';
import { apiPath } from './api-client.js';
import { CliError, EXIT, usageError } from './cli-error.js';
import type { CommandRuntime } from './command-context.js';
import { parseJsonArgument, parsePort } from './option-parsers.js';
import { cell, formatTable } from './output.js';
import { collectUpstream, type ServeGatewayOptions, type ServerLoader } from './serve-command.js';

/** A policy group as `/admin/v1/gateway/policies` answers it. */
interface PolicyBody {
  readonly id: string;
  readonly levels: readonly unknown[];
  readonly revision: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}

interface RevisionBody {
  readonly revision: number;
  readonly change: string;
  readonly at: string;
  readonly actor: string | null;
  readonly levels: readonly unknown[] | null;
}

interface HistoryEntryBody {
  readonly id: string;
  readonly at: string;
  readonly actor: string | null;
  readonly target: string;
  readonly key: string;
  readonly change: string;
  readonly revision: number | null;
}

interface HostBody {
  readonly host: string;
  readonly policyId: string;
  readonly updatedAt: string;
}

interface UpstreamBody {
  readonly name: string;
  readonly urls: readonly string[];
  readonly timeoutMs?: number | null;
  readonly updatedAt: string;
}

/** `uidrange,uidsuffix` — the diversion types of the levels, in order. */
function divtypes(levels: readonly unknown[] | null): string {
  if (levels === null) return '-';
  if (levels.length === 0) return '(none)';
  return levels.map((l) => cell((l as { divtype?: unknown } | null)?.divtype)).join(',');
}

/**
 * The levels of a policy group from `--file` / `--levels`: a JSON array of levels, an object
 * with `levels` (what `policy show --json` prints), or one level (`{"divtype":…,"divdata":…}`).
 */
export function levelsFrom(value: unknown, source: string): unknown[] {
  if (Array.isArray(value)) return value;
  if (value !== null && typeof value === 'object') {
    const o = value as { levels?: unknown; divtype?: unknown };
    if (Array.isArray(o.levels)) return o.levels;
    if (o.divtype !== undefined) return [value];
  }
  throw usageError(`${source} must be a JSON array of levels, {"levels":[…]} or one {"divtype":…,"divdata":…}`);
}

function readLevels(opts: { file?: string; levels?: string }, cwd: string): unknown[] {
  if ((opts.file === undefined) === (opts.levels === undefined)) {
    throw usageError('give the levels with exactly one of --file PATH or --levels JSON');
  }
  if (opts.file !== undefined) return levelsFrom(parseJsonArgument(`@${opts.file}`, '--file', cwd), '--file');
  return levelsFrom(parseJsonArgument(opts.levels as string, '--levels', cwd), '--levels');
}

function describePolicy(p: PolicyBody): string {
  return [
    `id:        ${cell(p.id)}`,
    `revision:  ${cell(p.revision)}`,
    `created:   ${cell(p.createdAt)}`,
    `updated:   ${cell(p.updatedAt)}`,
    `levels:    ${divtypes(p.levels)}`,
    JSON.stringify(p.levels, null, 2),
  ].join('\n');
}

function parsePositiveInt(name: string, max: number) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > max) {
      throw new InvalidArgumentError(`expected a whole number from 1 to ${max}.`);
    }
    return Number(value);
  };
}

/** Options of the role command, as commander parses them. */
interface RoleOptions {
  gatewayPort?: number;
  host?: string;
  upstream?: Record<string, string[]>;
  defaultUpstream?: string;
  gatewayAdminCompat?: boolean;
}

/**
 * Registers `halftone gateway`: without a subcommand it runs role gateway in this process
 * (`--gateway-port N [--upstream NAME=URL…] [--default-upstream NAME] [--gateway-admin-compat]
 * [--host H]`); its subcommands manage the gateway through the admin API of an api process:
 * `policy add|list|show|set|history|rm`, `host set|list|rm`, `upstream set|list|rm`, `history`.
 *
 * @example
 * registerGatewayCommands(program, runtime, loadServer);
 * // halftone gateway --gateway-port 8090 --upstream stable=http://10.0.0.1:8080 --default-upstream stable
 * // halftone gateway policy add --levels '[{"divtype":"uidsuffix","divdata":[{"suffix":"7","upstream":"beta"}]}]'
 */
export function registerGatewayCommands(program: Command, runtime: CommandRuntime, load: ServerLoader): void {
  const gateway = program
    .command('gateway')
    .description(
      'run role gateway (the gray gateway only, on shared PostgreSQL + Redis); ' +
        'with a subcommand, manage its policies, hosts and upstreams through the admin API',
    )
    .addOption(new Option('--gateway-port <n>', 'port of the proxy listener (required to run the role)').argParser(parsePort))
    .option('--host <host>', 'interface to listen on')
    .option('--upstream <name=urls>', 'upstream NAME=URL[,URL…] (repeatable)', collectUpstream)
    .option('--default-upstream <name>', 'upstream of requests no policy maps')
    .option('--gateway-admin-compat', 'also serve the ABTestingGateway admin API on the gateway port (loopback peers only)')
    .action(async (opts: RoleOptions) => {
      const server = await load();
      if (server.serveGateway === undefined) {
        throw new CliError('HT_CLI_INTERNAL', 'this @halftone/server has no gateway role; update it', EXIT.FAILURE);
      }
      const options: ServeGatewayOptions = {
        ...(opts.gatewayPort === undefined ? {} : { gatewayPort: opts.gatewayPort }),
        ...(opts.host === undefined ? {} : { host: opts.host }),
        ...(opts.upstream === undefined ? {} : { upstreams: opts.upstream }),
        ...(opts.defaultUpstream === undefined ? {} : { defaultUpstream: opts.defaultUpstream }),
        ...(opts.gatewayAdminCompat === true ? { gatewayAdminCompat: true } : {}),
      };
      await server.serveGateway(options);
    });

  // --- policy groups ---------------------------------------------------------------------
  const policy = gateway.command('policy').description('policy groups: ordered levels, the first that maps a request wins');

  policy
    .command('add')
    .description('create a policy group')
    .option('--file <path>', 'JSON file: an array of levels, {"levels":[…]} or one level')
    .option('--levels <json>', 'the levels as JSON (or @file)')
    .action(async (opts: { file?: string; levels?: string }, command: Command) => {
      const ctx = runtime.contextFor(command);
      const levels = readLevels(opts, ctx.io.cwd);
      const body = await ctx.api().send<PolicyBody>({ method: 'POST', path: '/admin/v1/gateway/policies', json: { levels } });
      ctx.emit(body, () => `Created policy ${body.id}\n${describePolicy(body)}`);
    });

  policy
    .command('set')
    .description("replace a policy group's levels (hosts bound to it follow at once)")
    .argument('<id>', 'policy group id')
    .option('--file <path>', 'JSON file: an array of levels, {"levels":[…]} or one level')
    .option('--levels <json>', 'the levels as JSON (or @file)')
    .addOption(new Option('--revision <n>', 'refuse if the group is no longer at this revision').argParser(parsePositiveInt('--revision', 2 ** 31)))
    .action(async (id: string, opts: { file?: string; levels?: string; revision?: number }, command: Command) => {
      const ctx = runtime.contextFor(command);
      const levels = readLevels(opts, ctx.io.cwd);
      const body = await ctx.api().send<PolicyBody>({
        method: 'PUT',
        path: apiPath`/admin/v1/gateway/policies/${id}`,
        json: { levels, ...(opts.revision === undefined ? {} : { revision: opts.revision }) },
      });
      ctx.emit(body, () => `Updated policy ${body.id} to revision ${body.revision}\n${describePolicy(body)}`);
    });

  policy
    .command('list')
    .description('list policy groups')
    .action(async (_opts: unknown, command: Command) => {
      const ctx = runtime.contextFor(command);
      const body = await ctx.api().send<{ policies?: PolicyBody[] }>({ method: 'GET', path: '/admin/v1/gateway/policies' });
      const policies = body.policies ?? [];
      ctx.emit(body, () =>
        policies.length === 0
          ? 'No policy groups.'
          : formatTable(
              ['ID', 'REV', 'LEVELS', 'UPDATED'],
              policies.map((p) => [cell(p.id), cell(p.revision), divtypes(p.levels), cell(p.updatedAt)]),
            ),
      );
    });

  policy
    .command('show')
    .description('show one policy group with its levels')
    .argument('<id>', 'policy group id')
    .action(async (id: string, _opts: unknown, command: Command) => {
      const ctx = runtime.contextFor(command);
      const body = await ctx.api().send<PolicyBody>({ method: 'GET', path: apiPath`/admin/v1/gateway/policies/${id}` });
      ctx.emit(body, () => describePolicy(body));
    });

  policy
    .command('history')
    .description('every revision of a policy group: when, who, what changed')
    .argument('<id>', 'policy group id')
    .action(async (id: string, _opts: unknown, command: Command) => {
      const ctx = runtime.contextFor(command);
      const body = await ctx
        .api()
        .send<{ id: string; revisions?: RevisionBody[] }>({ method: 'GET', path: apiPath`/admin/v1/gateway/policies/${id}/history` });
      const revisions = body.revisions ?? [];
      ctx.emit(body, () =>
        formatTable(
          ['REV', 'CHANGE', 'AT', 'BY', 'LEVELS'],
          revisions.map((r) => [cell(r.revision), cell(r.change), cell(r.at), cell(r.actor), divtypes(r.levels)]),
        ),
      );
    });

  policy
    .command('rm')
    .description('delete a policy group no host is bound to')
    .argument('<id>', 'policy group id')
    .action(async (id: string, _opts: unknown, command: Command) => {
      const ctx = runtime.contextFor(command);
      await ctx.api().send<unknown>({ method: 'DELETE', path: apiPath`/admin/v1/gateway/policies/${id}` });
      ctx.emit({ id, deleted: true }, () => `Deleted policy ${id}`);
    });

  // --- host bindings ---------------------------------------------------------------------
  const host = gateway.command('host').description('which policy group decides the requests of a host');

  host
    .command('set')
    .description('bind a host to a policy group (effective for the next request)')
    .argument('<host>', 'host name, as in the Host header (the port is ignored)')
    .requiredOption('--policy <id>', 'policy group id')
    .action(async (name: string, opts: { policy: string }, command: Command) => {
      const ctx = runtime.contextFor(command);
      const body = await ctx.api().send<HostBody>({ method: 'PUT', path: apiPath`/admin/v1/gateway/hosts/${name}`, json: { policyId: opts.policy } });
      ctx.emit(body, () => `Bound ${body.host} to policy ${body.policyId}`);
    });

  host
    .command('list')
    .description('list host bindings')
    .action(async (_opts: unknown, command: Command) => {
      const ctx = runtime.contextFor(command);
      const body = await ctx.api().send<{ hosts?: HostBody[] }>({ method: 'GET', path: '/admin/v1/gateway/hosts' });
      const hosts = body.hosts ?? [];
      ctx.emit(body, () =>
        hosts.length === 0
          ? 'No hosts bound.'
          : formatTable(['HOST', 'POLICY', 'UPDATED'], hosts.map((h) => [cell(h.host), cell(h.policyId), cell(h.updatedAt)])),
      );
    });

  host
    .command('rm')
    .description('unbind a host (its requests go to the default upstream)')
    .argument('<host>', 'host name')
    .action(async (name: string, _opts: unknown, command: Command) => {
      const ctx = runtime.contextFor(command);
      await ctx.api().send<unknown>({ method: 'DELETE', path: apiPath`/admin/v1/gateway/hosts/${name}` });
      ctx.emit({ host: name, deleted: true }, () => `Unbound ${name}`);
    });

  // --- upstreams ---------------------------------------------------------------------------
  const upstream = gateway.command('upstream').description('named sets of base URLs the gateway forwards to');

  upstream
    .command('set')
    .description('create or replace an upstream (round-robin over its URLs)')
    .argument('<name>', 'upstream name')
    .argument('<urls...>', 'base URLs, http(s)://host[:port][/base]')
    .addOption(
      new Option('--timeout-ms <ms>', 'inactivity timeout of requests to this upstream (default: gateway.timeoutMs)').argParser(
        (v: string) => {
          const n = Number(v);
          if (!/^\d+$/.test(v) || n < 1 || n > 3_600_000) throw new InvalidArgumentError('expected milliseconds, 1–3600000');
          return n;
        },
      ),
    )
    .action(async (name: string, urls: string[], opts: { timeoutMs?: number }, command: Command) => {
      const ctx = runtime.contextFor(command);
      const json = opts.timeoutMs === undefined ? { urls } : { urls, timeoutMs: opts.timeoutMs };
      const body = await ctx.api().send<UpstreamBody>({ method: 'PUT', path: apiPath`/admin/v1/gateway/upstreams/${name}`, json });
      ctx.emit(body, () =>
        `Set upstream ${body.name}: ${body.urls.join(' ')}${body.timeoutMs == null ? '' : ` (timeout ${body.timeoutMs} ms)`}`,
      );
    });

  upstream
    .command('list')
    .description('list the upstreams set through the admin API')
    .action(async (_opts: unknown, command: Command) => {
      const ctx = runtime.contextFor(command);
      const body = await ctx.api().send<{ upstreams?: UpstreamBody[] }>({ method: 'GET', path: '/admin/v1/gateway/upstreams' });
      const upstreams = body.upstreams ?? [];
      ctx.emit(body, () =>
        upstreams.length === 0
          ? 'No upstreams set through the admin API.'
          : formatTable(
              ['NAME', 'URLS', 'TIMEOUT', 'UPDATED'],
              upstreams.map((u) => [cell(u.name), cell(u.urls), cell(u.timeoutMs == null ? 'default' : `${u.timeoutMs} ms`), cell(u.updatedAt)]),
            ),
      );
    });

  upstream
    .command('rm')
    .description('delete an upstream')
    .argument('<name>', 'upstream name')
    .action(async (name: string, _opts: unknown, command: Command) => {
      const ctx = runtime.contextFor(command);
      await ctx.api().send<unknown>({ method: 'DELETE', path: apiPath`/admin/v1/gateway/upstreams/${name}` });
      ctx.emit({ name, deleted: true }, () => `Deleted upstream ${name}`);
    });

  // --- the change log ----------------------------------------------------------------------
  gateway
    .command('history')
    .description('the change log of policies, hosts and upstreams, newest first')
    .addOption(new Option('--limit <n>', 'how many entries (1–500, default 50)').argParser(parsePositiveInt('--limit', 500)))
    .option('--before <cursor>', 'older entries than this (the "next" of the previous page)')
    .action(async (opts: { limit?: number; before?: string }, command: Command) => {
      const ctx = runtime.contextFor(command);
      const body = await ctx.api().send<{ entries?: HistoryEntryBody[]; next?: string | null }>({
        method: 'GET',
        path: '/admin/v1/gateway/history',
        query: { limit: opts.limit === undefined ? undefined : String(opts.limit), before: opts.before },
      });
      const entries = body.entries ?? [];
      ctx.emit(body, () => {
        const table = formatTable(
          ['AT', 'BY', 'WHAT', 'KEY', 'CHANGE', 'REV'],
          entries.map((e) => [cell(e.at), cell(e.actor), cell(e.target), cell(e.key), cell(e.change), cell(e.revision)]),
        );
        return typeof body.next === 'string' ? `${table}\nmore: halftone gateway history --before ${body.next}` : table;
      });
    });
}
