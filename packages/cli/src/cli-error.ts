/**
 * Process exit codes of the `halftone` command, one per category of failure, so scripts can
 * react without parsing messages.
 *
 * @example
 * process.exitCode = EXIT.NOT_FOUND; // 4
 */
export const EXIT = {
  OK: 0,
  /** Anything not covered below (a bug, an unexpected answer). */
  FAILURE: 1,
  /** Bad command line: unknown option, missing argument, unreadable input file, bad JSON. */
  USAGE: 2,
  /** 401 / 403. */
  AUTH: 3,
  /** 404. */
  NOT_FOUND: 4,
  /** 409 / 412. */
  CONFLICT: 5,
  /** 400 / 413 / 415 / 422. */
  BAD_INPUT: 6,
  /** 5xx. */
  SERVER: 7,
  /** The server could not be reached: connection refused, DNS failure, timeout. */
  UNREACHABLE: 8,
} as const;

/** A problem document (RFC 9457) as the Halftone server sends it. */
export interface Problem {
  readonly type?: string;
  readonly title?: string;
  readonly status?: number;
  readonly detail?: string;
  readonly instance?: string;
  readonly code?: string;
  readonly errorId?: string;
  readonly errors?: readonly { readonly pointer: string; readonly message: string }[];
  readonly [extension: string]: unknown;
}

/** Titles of the problem documents the CLI makes for its own failures. */
const CLI_TITLES: Readonly<Record<string, string>> = {
  HT_CLI_USAGE: 'Invalid command line',
  HT_CLI_UNREACHABLE: 'Cannot reach the server',
  HT_CLI_HTTP_ERROR: 'The server answered with an error',
  HT_CLI_BAD_RESPONSE: 'The server answered something unexpected',
  HT_CLI_INTERNAL: 'The CLI failed',
};

/**
 * A failure the CLI reports as `code: message` on stderr before exiting with `exitCode`. With
 * `--json`, `problem` is printed on stdout: the server's problem document unchanged, or one the
 * CLI made up for its own failures.
 *
 * @example
 * throw new CliError('HT_CLI_USAGE', 'PERCENT must be a number', EXIT.USAGE);
 */
export class CliError extends Error {
  readonly code: string;
  readonly exitCode: number;
  readonly problem: Problem;

  constructor(code: string, message: string, exitCode: number, problem?: Problem) {
    super(message);
    this.name = 'CliError';
    this.code = code;
    this.exitCode = exitCode;
    this.problem = problem ?? { title: CLI_TITLES[code] ?? message, detail: message, code };
  }
}

/**
 * A usage error (exit 2): the command line or a file it names cannot be used.
 *
 * @example
 * throw usageError('--percent must be a number between 0 and 100');
 */
export function usageError(message: string): CliError {
  return new CliError('HT_CLI_USAGE', message, EXIT.USAGE);
}

/**
 * The exit code for an HTTP error status.
 *
 * @example
 * exitCodeForStatus(412); // 5 (conflict)
 */
export function exitCodeForStatus(status: number): number {
  if (status === 401 || status === 403) return EXIT.AUTH;
  if (status === 404) return EXIT.NOT_FOUND;
  if (status === 409 || status === 412) return EXIT.CONFLICT;
  if (status === 400 || status === 413 || status === 415 || status === 422) return EXIT.BAD_INPUT;
  if (status >= 500 && status <= 599) return EXIT.SERVER;
  return EXIT.FAILURE;
}
