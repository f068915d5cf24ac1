import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { computePatch, type DeltaJobInput } from './delta-compute.js';

/** Runs patch computations somewhere: a worker pool in production, in-process in tests. */
export interface DeltaRunner {
  /** Computes a patch; rejects with DeltaJobTimeout past `timeoutMs`. */
  run(input: DeltaJobInput, timeoutMs: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

/** The job ran out of its time budget (the worker was stopped). */
export class DeltaJobTimeout extends Error {
  constructor(ms: number) {
    super(`patch job exceeded its ${ms} ms budget`);
    this.name = 'DeltaJobTimeout';
  }
}

/** Computes in the calling thread (tests, tools); the time budget is checked after the fact. */
export function createInlineDeltaRunner(): DeltaRunner {
  return {
    async run(input, timeoutMs) {
      const started = Date.now();
      const patch = await computePatch(input);
      if (Date.now() - started > timeoutMs) throw new DeltaJobTimeout(timeoutMs);
      return patch;
    },
    async close() {},
  };
}

const WORKER_FILE = fileURLToPath(new URL('./delta-worker.js', import.meta.url));

/** Whether the compiled worker script is there (it is not when running TypeScript sources). */
export function workerScriptAvailable(): boolean {
  return existsSync(WORKER_FILE);
}

interface Job {
  readonly id: number;
  readonly input: DeltaJobInput;
  readonly timeoutMs: number;
  resolve(patch: Uint8Array): void;
  reject(err: Error): void;
}

interface Slot {
  worker: Worker;
  job: Job | undefined;
  timer: NodeJS.Timeout | undefined;
}

/**
 * A bounded pool of `size` worker threads (started with the first job); jobs wait in a queue for
 * a free worker. A job over
 * its time budget has its worker terminated (and replaced), so a runaway diff never blocks
 * the pool or the event loop.
 */
export function createWorkerDeltaRunner(size: number): DeltaRunner {
  const queue: Job[] = [];
  const slots: Slot[] = [];
  let nextId = 1;
  let closed = false;

  const spawn = (): Slot => {
    const slot: Slot = { worker: new Worker(WORKER_FILE), job: undefined, timer: undefined };
    slot.worker.unref();
    slot.worker.on('message', (msg: { id: number; patch?: Uint8Array; error?: string }) => {
      const job = slot.job;
      if (job === undefined || job.id !== msg.id) return;
      finish(slot);
      if (msg.patch !== undefined) job.resolve(msg.patch);
      else job.reject(new Error(msg.error ?? 'patch job failed'));
    });
    slot.worker.on('error', (err) => {
      const job = slot.job;
      finish(slot);
      replace(slot);
      job?.reject(err);
    });
    return slot;
  };
  const replace = (slot: Slot): void => {
    const i = slots.indexOf(slot);
    void slot.worker.terminate();
    if (i !== -1 && !closed) {
      slots[i] = spawn();
      pump();
    }
  };
  const finish = (slot: Slot): void => {
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = undefined;
    slot.job = undefined;
    queueMicrotask(pump);
  };
  const pump = (): void => {
    for (const slot of slots) {
      if (slot.job !== undefined) continue;
      const job = queue.shift();
      if (job === undefined) return;
      slot.job = job;
      slot.timer = setTimeout(() => {
        finish(slot);
        replace(slot);
        job.reject(new DeltaJobTimeout(job.timeoutMs));
      }, job.timeoutMs);
      slot.timer.unref();
      slot.worker.postMessage({ id: job.id, input: job.input });
    }
  };
  // Threads start with the first job: a server that never computes a patch (or a gateway-heavy
  // one) carries no idle isolates competing for its cores.
  const start = (): void => {
    while (slots.length < size) slots.push(spawn());
  };

  return {
    run(input, timeoutMs) {
      if (closed) return Promise.reject(new Error('delta runner closed'));
      start();
      return new Promise((resolve, reject) => {
        queue.push({ id: nextId++, input, timeoutMs, resolve, reject });
        pump();
      });
    },
    async close() {
      closed = true;
      for (const job of queue.splice(0)) job.reject(new Error('delta runner closed'));
      await Promise.all(slots.map((s) => s.worker.terminate()));
    },
  };
}
