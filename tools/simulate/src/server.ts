import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const CLI = join(ROOT, 'packages/cli/dist/main.js');

export interface SimServer {
  readonly url: string;
  readonly token: string;
  readonly output: () => string;
  stop(): Promise<void>;
}

/**
 * Starts `halftone serve` (built by `tsc -b`) on a fresh temporary data directory, on a free
 * port, with the server's clock standing still (`HALFTONE_CLOCK_MODE=manual`) at `clockStart`:
 * only `PUT /admin/v1/clock` moves it.
 *
 * Rate limits are raised: simulated devices send a whole simulated hour in one batch, which the
 * server's per-minute window (counted on its manual clock) would otherwise refuse. Delta workers
 * are off: simulated devices never download.
 */
export async function startSimServer(clockStart: string, env: Record<string, string> = {}): Promise<SimServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'halftone-sim-'));
  const token = `hat_sim_${randomBytes(12).toString('hex')}`;
  const child: ChildProcess = spawn(process.execPath, [CLI, 'serve', '--data', dataDir, '--port', '0', '--host', '127.0.0.1'], {
    cwd: ROOT,
    env: {
      ...process.env,
      HALFTONE_ADMIN_TOKEN: token,
      HALFTONE_LOG_LEVEL: 'warn',
      HALFTONE_DELTA_WORKERS: '0',
      HALFTONE_CLOCK_MODE: 'manual',
      HALFTONE_CLOCK_START: clockStart,
      HALFTONE_EVENTS_RATE_LIMITS_SESSION: '1000000',
      HALFTONE_EVENTS_RATE_LIMITS_CRASH: '1000000',
      HALFTONE_EVENTS_RATE_LIMITS_INSTALL: '1000000',
      ...env,
    },
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
    return { url, token, output: () => out, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
