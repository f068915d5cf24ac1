import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { InvalidArgumentError } from 'commander';
import { usageError } from './cli-error.js';

/**
 * Commander parser for a TCP port (0 picks a free one).
 *
 * @example
 * new Option('--port <n>').argParser(parsePort);
 */
export function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || !Number.isInteger(port) || port > 65535) {
    throw new InvalidArgumentError('expected an integer from 0 to 65535.');
  }
  return port;
}

/**
 * Parses a number argument (a trailing `%` is allowed for percentages); a usage error otherwise.
 *
 * @example
 * parseNumber('12.5%', 'PERCENT'); // 12.5
 */
export function parseNumber(value: string, name: string): number {
  const number = decimal(value);
  if (number === undefined) {
    throw usageError(`${name} must be a number, got ${JSON.stringify(value)}`);
  }
  return number;
}

/** A plain decimal number (no hex, exponent or Infinity), optionally followed by `%`. */
function decimal(value: string): number | undefined {
  const text = value.trim().replace(/%$/, '');
  return /^[+-]?(\d+\.?\d*|\.\d+)$/.test(text) ? Number(text) : undefined;
}

/**
 * Commander parser for `--percent`.
 *
 * @example
 * new Option('--percent <p>').argParser(parsePercentOption);
 */
export function parsePercentOption(value: string): number {
  const number = decimal(value);
  if (number === undefined) throw new InvalidArgumentError('expected a number.');
  return number;
}

/**
 * Commander parser for options that take a list: repeatable, and each value may be a comma list.
 * Empty items are dropped.
 *
 * @example
 * new Option('--crowd <name>').argParser(collectList).default([]);
 * // --crowd a --crowd b,c  →  ['a', 'b', 'c']
 */
export function collectList(value: string, previous: string[] | undefined): string[] {
  const items = value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  return [...(previous ?? []), ...items];
}

/**
 * Commander parser for positive timeouts given in seconds; returns milliseconds.
 *
 * @example
 * new Option('--timeout <seconds>').argParser(parseTimeoutSeconds);
 */
export function parseTimeoutSeconds(value: string): number {
  const seconds = Number(value);
  if (value.trim() === '' || !Number.isFinite(seconds) || seconds <= 0) {
    throw new InvalidArgumentError('expected a positive number of seconds.');
  }
  return Math.round(seconds * 1000);
}

/**
 * Parses a JSON option value; `@path` reads the JSON from a file (relative to `cwd`). Anything
 * that does not parse is a usage error, raised before any request is made.
 *
 * @example
 * parseJsonArgument('{"attribute":"platform","operator":"eq","value":"ios"}', '--rule', cwd);
 * parseJsonArgument('@rule.json', '--rule', cwd);
 */
export function parseJsonArgument(value: string, name: string, cwd: string): unknown {
  let text = value;
  let source = name;
  if (value.startsWith('@')) {
    const file = resolve(cwd, value.slice(1));
    source = `${name} file ${value.slice(1)}`;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw usageError(`cannot read ${source}: ${(err as Error).message}`);
    }
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw usageError(`${source} is not valid JSON: ${(err as Error).message}`);
  }
}
