import { Command, CommanderError, Option } from 'commander';
import { registerAppCommands } from './app-commands.js';
import { registerBreakerCommands } from './breaker-commands.js';
import { CliError, EXIT, exitCodeForStatus, type Problem } from './cli-error.js';
import { createCommandRuntime } from './command-context.js';
import { registerConfigCommands } from './config-commands.js';
import { registerCodePushCommands } from './codepush-commands.js';
import { registerCrowdCommands } from './crowd-commands.js';
import { registerDeltaCommands } from './delta-commands.js';
import { registerDiagnosticsCommands } from './diagnostics-commands.js';
import { registerGatewayCommands } from './gateway-commands.js';
import { parseTimeoutSeconds } from './option-parsers.js';
import { type CliIo, writeJson } from './output.js';
import { registerPackageCommands } from './package-commands.js';
import { registerPublishCommand } from './publish-command.js';
import { registerReleaseCommands } from './release-commands.js';
import { loadServer, registerServeCommand, type ServerLoader } from './serve-command.js';

export type { CliIo, CliOutput } from './output.js';

/** Replaceable collaborators of {@link run}, for tests. */
export interface RunOptions {
  /** How `halftone serve` / `halftone gateway` load the server; defaults to importing `@halftone/server`. */
  readonly loadServer?: ServerLoader;
}

function buildProgram(io: CliIo, options: RunOptions) {
  const runtime = createCommandRuntime(io);
  const program = new Command('halftone')
    .description('Halftone: gray release of dynamic packages to mobile apps')
    .option('--url <url>', 'server URL (default: $HALFTONE_URL, else http://127.0.0.1:8080)')
    .option(
      '--token <token>',
      'admin token (default: $HALFTONE_TOKEN, else ./.halftone/admin-token)',
    )
    .option('--json', 'print exactly one JSON document on stdout')
    .addOption(
      new Option('--timeout <seconds>', 'how long to wait for the server (default: 30)').argParser(
        parseTimeoutSeconds,
      ),
    )
    // Commander must neither exit nor print its own errors: run() turns them into
    // `HT_CLI_USAGE: …` and exit code 2. Subcommands inherit both settings.
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      outputError: () => {},
    });
  registerServeCommand(program, io.cwd, options.loadServer ?? loadServer);
  registerAppCommands(program, runtime);
  registerCrowdCommands(program, runtime);
  registerPublishCommand(program, runtime);
  registerPackageCommands(program, runtime);
  registerReleaseCommands(program, runtime);
  registerBreakerCommands(program, runtime);
  registerCodePushCommands(program, runtime);
  registerDeltaCommands(program, runtime);
  registerDiagnosticsCommands(program, runtime);
  registerConfigCommands(program, runtime);
  registerGatewayCommands(program, runtime, options.loadServer ?? loadServer);
  return { program, runtime };
}

/** A failure as the CLI reports it. */
interface Failure {
  readonly code: string;
  readonly message: string;
  readonly exitCode: number;
  readonly problem: Problem;
}

/** A HalftoneError from the server package (`halftone serve`), e.g. HT_CONFIG_INVALID. */
function isHalftoneError(
  err: unknown,
): err is Error & { code: string; status: number; detail?: string | undefined } {
  if (!(err instanceof Error)) return false;
  const { code, status } = err as { code?: unknown; status?: unknown };
  return typeof code === 'string' && /^HT_[A-Z0-9_]+$/.test(code) && typeof status === 'number';
}

function toFailure(err: unknown): Failure | null {
  if (err instanceof CommanderError) {
    // --help (and `help`) end with exit code 0: nothing failed.
    if (err.exitCode === 0) return null;
    const message =
      err.code === 'commander.help' || err.code === 'commander.helpDisplayed'
        ? 'a command is required (see the help above)'
        : err.message.replace(/^error: /, '');
    return new CliError('HT_CLI_USAGE', message, EXIT.USAGE);
  }
  if (err instanceof CliError) return err;
  if (isHalftoneError(err)) {
    const { code, status, detail } = err;
    const message = detail === undefined ? err.message : `${err.message}: ${detail}`;
    return {
      code,
      message,
      exitCode: exitCodeForStatus(status),
      problem: { title: err.message, status, detail: message, code },
    };
  }
  const message = err instanceof Error ? err.message : String(err);
  return new CliError('HT_CLI_INTERNAL', message, EXIT.FAILURE);
}

function report(failure: Failure, io: CliIo, json: boolean): void {
  const lines = [`${failure.code}: ${failure.message}`];
  for (const field of failure.problem.errors ?? [])
    lines.push(`  ${field.pointer}: ${field.message}`);
  const status = failure.problem.status;
  if (typeof status === 'number' && status >= 500 && failure.problem.errorId !== undefined) {
    lines.push(`  errorId: ${failure.problem.errorId}`);
  }
  io.stderr.write(`${lines.join('\n')}\n`);
  if (json) writeJson(io.stdout, failure.problem);
}

/**
 * Runs the `halftone` command line and returns the process exit code (0 success, 2 usage,
 * 3 auth, 4 not found, 5 conflict, 6 bad input, 7 server error, 8 unreachable, 1 anything else).
 * Failures are printed as `HT_CODE: message` on stderr; with `--json` the problem document is
 * also printed on stdout, so stdout always holds exactly one JSON document. Never calls
 * `process.exit`.
 *
 * @example
 * process.exitCode = await run(process.argv.slice(2), {
 *   stdout: process.stdout,
 *   stderr: process.stderr,
 *   env: process.env,
 *   cwd: process.cwd(),
 * });
 */
export async function run(
  argv: readonly string[],
  io: CliIo,
  options: RunOptions = {},
): Promise<number> {
  const { program, runtime } = buildProgram(io, options);
  // Decided from argv so that even a command line commander rejects gets a JSON problem.
  const json = argv
    .slice(0, argv.includes('--') ? argv.indexOf('--') : argv.length)
    .includes('--json');
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return EXIT.OK;
  } catch (err) {
    const failure = toFailure(err);
    if (failure === null) return EXIT.OK;
    report(failure, io, json);
    return failure.exitCode;
  } finally {
    await runtime.close().catch(() => {});
  }
}
