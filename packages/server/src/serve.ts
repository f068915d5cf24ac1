import { composeHalftone, type Halftone } from './compose.js';
import { describeConfig, loadConfig } from './platform/config/load-config.js';
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
}

export interface RunningHalftone extends Halftone {
  readonly url: string;
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
  const config = loadConfig({ env: opts.env ?? process.env, overrides });
  const halftone = await composeHalftone(config);
  let address: string;
  try {
    address = await halftone.api.listen({ port: config.port, host: config.host });
  } catch (err) {
    await halftone.close();
    throw err;
  }
  const url = address.replace('://[::1]', '://localhost');
  const print = opts.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const embedded = config.dbUrl.startsWith('sqlite:');
  const described = describeConfig(config);
  print(`Halftone ${VERSION} is running`);
  print(`  admin API    ${url}/admin/v1`);
  print(`  client API   ${url}/client/v1`);
  print(`  OpenAPI      ${url}/openapi.json`);
  print(`  database     ${described.dbUrl}${embedded ? ' (embedded)' : ''}`);
  print(`  blobs        ${described.blobUrl}`);
  const t = halftone.adminToken;
  print(
    `  admin token  ${t.token}${t.generated ? '  (generated now' : t.file ? '  (from' : '  (from HALFTONE_ADMIN_TOKEN'}${t.file ? ` ${t.file})` : t.generated ? ')' : ')'}`,
  );
  print(`  try          HALFTONE_URL=${url} HALFTONE_TOKEN=${t.token} npx halftone app list`);

  const running: RunningHalftone = { ...halftone, url };
  if (opts.handleSignals !== false) {
    let closing = false;
    const stop = (signal: NodeJS.Signals) => {
      if (closing) return;
      closing = true;
      halftone.api.log.info({ signal }, 'shutting down');
      void halftone.close().finally(() => process.exit(0));
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  }
  return running;
}
