import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const CLI = join(ROOT, 'packages/cli/dist/main.js');

/** A `halftone serve` child process on a temporary data directory. */
export interface ServeProcess {
  readonly url: string;
  readonly token: string;
  readonly dataDir: string;
  readonly output: () => string;
  /** Stops the process (SIGTERM, then SIGKILL after 5 s) and removes its data directory. */
  stop(): Promise<void>;
}

export type SimServer = ServeProcess;

/**
 * Starts `halftone serve` (built by `tsc -b`) on a fresh temporary data directory and a free
 * port, with a random admin token and log level warn, and waits for its banner. Used by the
 * simulator and by the end-to-end tests (`e2e/harness.ts`).
 */
export async function startServe(env: Record<string, string> = {}, name = 'serve'): Promise<ServeProcess> {
  const dataDir = await mkdtemp(join(tmpdir(), `halftone-${name}-`));
  const token = `hat_${name}_${randomBytes(12).toString('hex')}`;
  const child: ChildProcess = spawn(process.execPath, [CLI, 'serve', '--data', dataDir, '--port', '0', '--host', '127.0.0.1'], {
    cwd: ROOT,
    env: { ...process.env, HALFTONE_ADMIN_TOKEN: token, HALFTONE_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (b: Buffer) => {
    out += b.toString();
  });
  child.stderr?.on('data', (b: Buffer) => {
    out += b.toString();
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 30_000);
      const poll = setInterval(() => {
        const m = /admin API\s+(http:\/\/\S+)\/admin\/v1/.exec(out);
        if (m?.[1]) {
          clearInterval(poll);
          clearTimeout(timer);
          resolve(m[1]);
        }
      }, 25);
      child.once('exit', (code) => {
        clearInterval(poll);
        clearTimeout(timer);
        reject(new Error(`server exited with ${code}:\n${out}`));
      });
    });
    return { url, token, dataDir, output: () => out, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/**
 * Starts the server for a simulation: {@link startServe} with the server's clock standing still
 * (`HALFTONE_CLOCK_MODE=manual`) at `clockStart`; only `PUT /admin/v1/clock` moves it.
 *
 * Rate limits are raised: simulated devices send a whole simulated hour in one batch, which the
 * server's per-minute window (counted on its manual clock) would otherwise refuse. Delta workers
 * are off: simulated devices never download.
 */
export function startSimServer(clockStart: string, env: Record<string, string> = {}): Promise<SimServer> {
  return startServe(
    {
      HALFTONE_DELTA_WORKERS: '0',
      HALFTONE_CLOCK_MODE: 'manual',
      HALFTONE_CLOCK_START: clockStart,
      HALFTONE_EVENTS_RATE_LIMITS_SESSION: '1000000',
      HALFTONE_EVENTS_RATE_LIMITS_CRASH: '1000000',
      HALFTONE_EVENTS_RATE_LIMITS_INSTALL: '1000000',
      ...env,
    },
    'sim',
  );
}
