import { resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { CliError, EXIT, usageError } from './cli-error.js';
import { parsePort } from './option-parsers.js';

/** What `halftone serve` passes to the server's `serve()`. */
export interface ServeOptions {
  readonly dataDir?: string;
  readonly port?: number;
  readonly host?: string;
  readonly gatewayPort?: number;
  readonly upstreams?: Record<string, string[]>;
  readonly defaultUpstream?: string;
  readonly gatewayAdminCompat?: boolean;
}

/** What `halftone gateway` passes to the server's `serveGateway()`. */
export interface ServeGatewayOptions {
  readonly gatewayPort?: number;
  readonly host?: string;
  readonly upstreams?: Record<string, string[]>;
  readonly defaultUpstream?: string;
  readonly gatewayAdminCompat?: boolean;
}

/** The part of `@halftone/server` the CLI uses. */
export interface ServerModule {
  serve(options: ServeOptions): Promise<unknown>;
  /** Role `gateway` only (`halftone gateway`); absent in servers older than that role. */
  serveGateway?(options: ServeGatewayOptions): Promise<unknown>;
}

/** Loads the server only when `serve` runs, so the admin commands start fast. */
export type ServerLoader = () => Promise<ServerModule>;

// The specifier is a variable on purpose: the admin commands must not depend on the server's
// build output being present when the CLI is type-checked; `ServerModule` states the contract.
const SERVER_PACKAGE = '@halftone/server';

/**
 * The default {@link ServerLoader}: imports `@halftone/server`.
 *
 * @example
 * const { serve } = await loadServer();
 */
export const loadServer: ServerLoader = async () => {
  try {
    return (await import(SERVER_PACKAGE)) as ServerModule;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new CliError(
      'HT_CLI_INTERNAL',
      `cannot load ${SERVER_PACKAGE} (is it built? run \`npm run build\`): ${message}`,
      EXIT.FAILURE,
    );
  }
};

/** Collects repeatable `--upstream NAME=URL[,URL…]` flags into name → URLs. */
export function collectUpstream(value: string, previous: Record<string, string[]> = {}): Record<string, string[]> {
  const eq = value.indexOf('=');
  const name = eq < 0 ? '' : value.slice(0, eq).trim();
  const urls = eq < 0 ? [] : value.slice(eq + 1).split(',').map((u) => u.trim()).filter((u) => u !== '');
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name) || urls.length === 0) {
    throw usageError(`--upstream expects NAME=URL[,URL…], got ${JSON.stringify(value)}`);
  }
  return { ...previous, [name]: [...(previous[name] ?? []), ...urls] };
}

/**
 * Registers `halftone serve [--data DIR] [--port N] [--host H]`: runs every server role in this
 * process. The server prints its banner and handles signals itself.
 *
 * @example
 * registerServeCommand(program, process.cwd(), loadServer);
 */
export function registerServeCommand(program: Command, cwd: string, load: ServerLoader): void {
  program
    .command('serve')
    .description('run the Halftone server (every role, one process)')
    .option('--data <dir>', 'data directory (database, blobs, admin token)')
    .addOption(new Option('--port <n>', 'port to listen on').argParser(parsePort))
    .option('--host <host>', 'interface to listen on')
    .addOption(new Option('--gateway-port <n>', 'start the gray gateway on this port').argParser(parsePort))
    .option('--upstream <name=urls>', 'gateway upstream NAME=URL[,URL…] (repeatable)', collectUpstream)
    .option('--default-upstream <name>', 'gateway upstream of requests no policy maps')
    .option('--gateway-admin-compat', 'also serve the ABTestingGateway admin API on the gateway port (loopback peers only)')
    .action(
      async (opts: {
        data?: string;
        port?: number;
        host?: string;
        gatewayPort?: number;
        upstream?: Record<string, string[]>;
        defaultUpstream?: string;
        gatewayAdminCompat?: boolean;
      }) => {
      const { serve } = await load();
      await serve({
        ...(opts.data === undefined ? {} : { dataDir: resolve(cwd, opts.data) }),
        ...(opts.port === undefined ? {} : { port: opts.port }),
        ...(opts.host === undefined ? {} : { host: opts.host }),
        ...(opts.gatewayPort === undefined ? {} : { gatewayPort: opts.gatewayPort }),
        ...(opts.upstream === undefined ? {} : { upstreams: opts.upstream }),
        ...(opts.defaultUpstream === undefined ? {} : { defaultUpstream: opts.defaultUpstream }),
        ...(opts.gatewayAdminCompat === true ? { gatewayAdminCompat: true } : {}),
      });
      },
    );
}
