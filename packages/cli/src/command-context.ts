import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { type ApiClient, createApiClient } from './api-client.js';
import { usageError } from './cli-error.js';
import { type CliIo, writeJson } from './output.js';

/** The server the CLI talks to when neither `--url` nor `HALFTONE_URL` says otherwise. */
export const DEFAULT_URL = 'http://127.0.0.1:8080';

/** Where `halftone serve` leaves the admin token, relative to the working directory. */
export const ADMIN_TOKEN_FILE = join('.halftone', 'admin-token');

/** The global options, as commander parses them. */
interface GlobalOptions {
  readonly url?: string;
  readonly token?: string;
  readonly json?: boolean;
  readonly timeout?: number;
}

/** What a command action works with. */
export interface CommandContext {
  readonly io: CliIo;
  /** `--json` was given: print exactly one JSON document on stdout. */
  readonly json: boolean;
  /** The admin API client (created on first use). */
  api(): ApiClient;
  /**
   * Prints a command's result: `body` as JSON with `--json`, otherwise the human lines.
   */
  emit(body: unknown, human: () => string): void;
}

/** Creates command contexts for one run of the CLI and closes what they opened. */
export interface CommandRuntime {
  contextFor(command: Command): CommandContext;
  close(): Promise<void>;
}

/**
 * The runtime of one `run()`: resolves the global options of the command being run (flag, then
 * environment, then the admin token file) and owns the API client.
 *
 * @example
 * const runtime = createCommandRuntime(io);
 * const ctx = runtime.contextFor(command);
 * await runtime.close();
 */
export function createCommandRuntime(io: CliIo): CommandRuntime {
  let client: ApiClient | undefined;

  function resolveUrl(flag: string | undefined): string {
    const url = flag ?? nonEmpty(io.env.HALFTONE_URL) ?? DEFAULT_URL;
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw usageError(`--url ${JSON.stringify(url)} is not a URL`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw usageError(`--url ${JSON.stringify(url)} must be an http or https URL`);
    }
    return url;
  }

  function resolveToken(flag: string | undefined): string | undefined {
    const token = flag ?? nonEmpty(io.env.HALFTONE_TOKEN);
    if (token !== undefined) return token;
    try {
      return nonEmpty(readFileSync(join(io.cwd, ADMIN_TOKEN_FILE), 'utf8').trim());
    } catch {
      return undefined;
    }
  }

  return {
    contextFor(command) {
      const options = command.optsWithGlobals<GlobalOptions>();
      const json = options.json === true;
      return {
        io,
        json,
        api() {
          client ??= createApiClient({
            baseUrl: resolveUrl(options.url),
            token: resolveToken(options.token),
            timeoutMs: options.timeout,
          });
          return client;
        },
        emit(body, human) {
          if (json) writeJson(io.stdout, body);
          else io.stdout.write(`${human()}\n`);
        },
      };
    },
    async close() {
      await client?.close();
    },
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
