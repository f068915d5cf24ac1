// The external tools of `npm run bench:delta` (bench/DELTA.md): finding them, installing the
// missing ones when we may, and running a command under `/usr/bin/time -v`.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

/** Each tool: the command to look for and the Debian package that provides it. */
export const TOOLS = {
  bsdiff: { command: 'bsdiff', apt: 'bsdiff' },
  bspatch: { command: 'bspatch', apt: 'bsdiff' },
  zstd: { command: 'zstd', apt: 'zstd' },
  time: { command: '/usr/bin/time', apt: 'time' },
  zip: { command: 'zip', apt: 'zip' },
  tar: { command: 'tar', apt: 'tar' },
  gzip: { command: 'gzip', apt: 'gzip' },
};

/** The absolute path of `command` (searched in PATH unless it is absolute), or null. */
export function which(command) {
  if (command.includes('/')) return existsSync(command) ? command : null;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir !== '' && existsSync(path.join(dir, command))) return path.join(dir, command);
  }
  return null;
}

/**
 * Makes sure the tools are there. Missing ones are installed with apt-get when we are root on a
 * Debian-like system; otherwise the install command is printed and the tool reported missing,
 * so its column is skipped (never silently).
 *
 * @returns {Record<string, string | null>} tool name → path, null when it is unavailable.
 */
export function ensureTools(log) {
  const found = () => Object.fromEntries(Object.entries(TOOLS).map(([k, t]) => [k, which(t.command)]));
  let paths = found();
  const missing = Object.keys(paths).filter((k) => paths[k] === null);
  if (missing.length === 0) return paths;
  const packages = [...new Set(missing.map((k) => TOOLS[k].apt))];
  const installCmd = `apt-get update -qq && apt-get install -y -qq ${packages.join(' ')}`;
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (root && which('apt-get') !== null) {
    log(`installing missing tools (${missing.join(', ')}): ${installCmd}`);
    const res = spawnSync('sh', ['-c', installCmd], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    if (res.status !== 0) log(`apt-get failed (exit ${res.status}); continuing without: ${missing.join(', ')}`);
    paths = found();
  }
  for (const k of Object.keys(paths)) {
    if (paths[k] === null) {
      log(`MISSING TOOL: ${TOOLS[k].command} — install it with: sudo sh -c '${installCmd}'; its column is skipped`);
    }
  }
  return paths;
}

/** Parses the report of GNU `time -v`. */
function parseTimeV(text) {
  const field = (label) => {
    const line = text.split('\n').find((l) => l.trim().startsWith(label));
    return line === undefined ? undefined : line.slice(line.lastIndexOf(': ') + 2).trim();
  };
  const user = Number(field('User time (seconds)'));
  const sys = Number(field('System time (seconds)'));
  const rssKb = Number(field('Maximum resident set size (kbytes)'));
  return { user, sys, cpuS: user + sys, rssMiB: rssKb / 1024 };
}

/**
 * Runs `command args` and measures it: wall seconds always; CPU seconds (user+sys) and peak
 * RSS (MiB) from `/usr/bin/time -v` when `timePath` is given. Throws when the command fails.
 *
 * @returns {{ wallS: number, cpuS: number | null, rssMiB: number | null, stdout: string }}
 */
export function timed(timePath, command, args, options = {}) {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'halftone-time-'));
  const report = path.join(tmp, 'time.txt');
  const argv = timePath === null ? [command, ...args] : [timePath, '-v', '-o', report, command, ...args];
  try {
    const t0 = performance.now();
    const res = spawnSync(argv[0], argv.slice(1), {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
      cwd: options.cwd,
    });
    const wallS = (performance.now() - t0) / 1000;
    if (res.error) throw res.error;
    if (res.status !== 0) {
      throw new Error(
        `${[command, ...args].join(' ')} exited with ${res.status ?? res.signal}: ${(res.stderr ?? '').trim().slice(-2000)}`,
      );
    }
    if (timePath === null) return { wallS, cpuS: null, rssMiB: null, stdout: res.stdout };
    const { cpuS, rssMiB } = parseTimeV(readFileSync(report, 'utf8'));
    return { wallS, cpuS, rssMiB, stdout: res.stdout };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Runs a command for its side effect, throwing with its stderr when it fails. */
export function run(command, args, options = {}) {
  return execFileSync(command, args, { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 * 1024 * 1024, ...options });
}
