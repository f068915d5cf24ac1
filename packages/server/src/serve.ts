import { composeGatewayRole, composeHalftone, type GatewayRole, type Halftone } from './compose.js';
import { describeConfig, loadConfig } from './platform/config/load-config.js';
import { type GatewayListener, listenGateway } from './slices/gateway/gateway-listener.js';
import { VERSION } from './version.js';

export interface ServeOptions {
  readonly dataDir?: string | undefined;
  readonly port?: number | undefined;
  readonly host?: string | undefined;
  readonly env?: NodeJS.ProcessEnv;
  /** Where the start-up banner goes (default: stdout). */
  readonly print?: (line: string) => void;
  /** Install SIGINT/SIGTERM handlers that close the server (default true). */
  readonly handleSignals?: boolean;
  /** Port of the gray gateway (none when unset and not configured). */
  readonly gatewayPort?: number | undefined;
  /** Upstreams of the gateway, name → base URLs (merged over the configured ones). */
  readonly upstreams?: Readonly<Record<string, readonly string[]>> | undefined;
  /** The gateway's default upstream. */
  readonly defaultUpstream?: string | undefined;
  /** Also serve the ABTestingGateway admin dialects on the gateway port (loopback peers, no token). */
  readonly gatewayAdminCompat?: boolean | undefined;
  /** Location-level runtime keys of the gateway (see `gateway.locations`). */
  readonly gatewayLocations?: readonly { readonly pattern: string; readonly suffix: string }[] | undefined;
}

export interface RunningHalftone extends Halftone {
  readonly url: string;
  /** The gateway's URL, when a gateway port is configured. */
  readonly gatewayUrl?: string;
}

/**
 * `halftone serve`: loads the config (defaults ← HALFTONE_* ← flags), starts every role in one
 * process, listens, and prints the URLs and the admin token.
 *
 * @example
 * const running = await serve({ dataDir: './.halftone', port: 0 });
 * console.log(running.url);
 * await running.close();
 */
export async function serve(opts: ServeOptions = {}): Promise<RunningHalftone> {
  const overrides: Record<string, unknown> = {};
  if (opts.dataDir !== undefined) overrides.dataDir = opts.dataDir;
  if (opts.port !== undefined) overrides.port = opts.port;
  if (opts.host !== undefined) overrides.host = opts.host;
  const gateway: Record<string, unknown> = {};
  if (opts.gatewayPort !== undefined) gateway.port = opts.gatewayPort;
  if (opts.defaultUpstream !== undefined) gateway.defaultUpstream = opts.defaultUpstream;
  if (opts.upstreams !== undefined) gateway.upstreams = opts.upstreams;
  if (opts.gatewayAdminCompat !== undefined) gateway.adminCompat = opts.gatewayAdminCompat;
  if (opts.gatewayLocations !== undefined) gateway.locations = opts.gatewayLocations;
  if (Object.keys(gateway).length > 0) overrides.gateway = gateway;
  const config = loadConfig({ env: opts.env ?? process.env, overrides });
  const halftone = await composeHalftone(config);
  let address: string;
  let gatewayListener: GatewayListener | undefined;
  try {
    address = await halftone.api.listen({ port: config.port, host: config.host });
    if (config.gateway.port !== undefined) {
      gatewayListener = await listenGateway({
        proxy: halftone.gatewayProxy,
        gateway: halftone.gateway,
        port: config.gateway.port,
        host: config.host,
        adminCompat: config.gateway.adminCompat,
      });
    }
  } catch (err) {
    await gatewayListener?.close();
    await halftone.close();
    throw err;
  }
  const closeAll = async () => {
    await gatewayListener?.close();
    await halftone.close();
  };
  const url = address.replace('://[::1]', '://localhost');
  const print = opts.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const embedded = config.dbUrl.startsWith('sqlite:');
  const described = describeConfig(config);
  print(`Halftone ${VERSION} is running`);
  print(`  admin API    ${url}/admin/v1`);
  print(`  client API   ${url}/client/v1`);
  print(`  OpenAPI      ${url}/openapi.json`);
  if (gatewayListener !== undefined) print(`  gateway      ${gatewayListener.url}`);
  print(`  database     ${described.dbUrl}${embedded ? ' (embedded)' : ''}`);
  print(`  blobs        ${described.blobUrl}`);
  const t = halftone.adminToken;
  print(
    `  admin token  ${t.token}${t.generated ? '  (generated now' : t.file ? '  (from' : '  (from HALFTONE_ADMIN_TOKEN'}${t.file ? ` ${t.file})` : t.generated ? ')' : ')'}`,
  );
  print(`  try          HALFTONE_URL=${url} HALFTONE_TOKEN=${t.token} npx halftone app list`);

  const running: RunningHalftone = {
    ...halftone,
    url,
    ...(gatewayListener === undefined ? {} : { gatewayUrl: gatewayListener.url }),
    close: closeAll,
  };
  if (opts.handleSignals !== false) {
    let closing = false;
    const stop = (signal: NodeJS.Signals) => {
      if (closing) return;
      closing = true;
      halftone.api.log.info({ signal }, 'shutting down');
      void closeAll().finally(() => process.exit(0));
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  }
  return running;
}

/** Options of {@link serveGateway} (`halftone gateway`). */
export interface ServeGatewayOptions {
  /** Port of the proxy listener (required here or as HALFTONE_GATEWAY_PORT). */
  readonly gatewayPort?: number | undefined;
  readonly host?: string | undefined;
  readonly env?: NodeJS.ProcessEnv;
  readonly upstreams?: Readonly<Record<string, readonly string[]>> | undefined;
  readonly defaultUpstream?: string | undefined;
  readonly gatewayAdminCompat?: boolean | undefined;
  /** Where the start-up banner goes (default: stdout). */
  readonly print?: (line: string) => void;
  /** Install SIGINT/SIGTERM handlers that close the gateway (default true). */
  readonly handleSignals?: boolean;
}

export interface RunningGateway extends GatewayRole {
  /** The gateway's URL. */
  readonly gatewayUrl: string;
}

/**
 * `halftone gateway`: runs role `gateway` only — the gray gateway's proxy listener, following
 * the policies every api process writes to the shared PostgreSQL database and announces on
 * Redis. The config is role `gateway` whatever HALFTONE_ROLE says; it must name a PostgreSQL
 * `dbUrl`, a Redis `busUrl` and a gateway port, and is refused (HT_CONFIG_INVALID) otherwise.
 *
 * @example
 * const gw = await serveGateway({ gatewayPort: 8090, env: process.env });
 * console.log(gw.gatewayUrl);
 * await gw.close();
 */
export async function serveGateway(opts: ServeGatewayOptions = {}): Promise<RunningGateway> {
  const overrides: Record<string, unknown> = { role: 'gateway' };
  if (opts.host !== undefined) overrides.host = opts.host;
  const gateway: Record<string, unknown> = {};
  if (opts.gatewayPort !== undefined) gateway.port = opts.gatewayPort;
  if (opts.defaultUpstream !== undefined) gateway.defaultUpstream = opts.defaultUpstream;
  if (opts.upstreams !== undefined) gateway.upstreams = opts.upstreams;
  if (opts.gatewayAdminCompat !== undefined) gateway.adminCompat = opts.gatewayAdminCompat;
  if (Object.keys(gateway).length > 0) overrides.gateway = gateway;
  const config = loadConfig({ env: opts.env ?? process.env, overrides });
  const role = await composeGatewayRole(config);
  let listener: GatewayListener;
  try {
    listener = await listenGateway({
      proxy: role.gatewayProxy,
      gateway: role.gateway,
      port: config.gateway.port ?? 0,
      host: config.host,
      adminCompat: config.gateway.adminCompat,
    });
  } catch (err) {
    await role.close();
    throw err;
  }
  const closeAll = async () => {
    await listener.close();
    await role.close();
  };
  const print = opts.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const described = describeConfig(config);
  print(`Halftone ${VERSION} gateway is running`);
  print(`  gateway      ${listener.url}`);
  print(`  health       ${listener.url}/healthz (loopback peers)`);
  print(`  database     ${described.dbUrl}`);
  print(`  bus          ${described.busUrl}`);
  const upstreams = [...role.gateway.table.upstreams.keys()];
  print(`  upstreams    ${upstreams.length === 0 ? '(none yet)' : upstreams.join(', ')}${config.gateway.defaultUpstream ? `  (default ${config.gateway.defaultUpstream})` : ''}`);
  print('  policies     change them through an api process (/admin/v1/gateway/…, halftone gateway policy …)');
  const running: RunningGateway = { ...role, gatewayUrl: listener.url, close: closeAll };
  if (opts.handleSignals !== false) {
    let closing = false;
    const stop = () => {
      if (closing) return;
      closing = true;
      void closeAll().finally(() => process.exit(0));
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  }
  return running;
}
