import type { Readable } from 'node:stream';
import type { BlobReader, BlobSource, BlobWriter } from '../../platform/blob/blob-store.js';
import type { Clock } from '../../platform/clock.js';
import type { Config } from '../../platform/config/config-schema.js';
import { uploadTooLarge } from '../../platform/errors/platform-errors.js';
import { newId } from '../../platform/ids.js';
import type { AppService } from '../apps/app-service.js';
import {
  cancelRefusal,
  type DiagnosticCommand,
  type DiagnosticKind,
  type DiagnosticState,
  type TargetType,
  targets,
  uploadRefusal,
} from './diagnostic-command.js';
import {
  DiagAlreadyUploaded,
  DiagCursorInvalid,
  DiagExpiryTooLong,
  DiagNotFound,
  DiagParamsInvalid,
  DiagTargetMismatch,
  DiagUploadMissing,
  DiagUploadTooLarge,
} from './diagnostics-errors.js';
import type { DiagnosticsFeed } from './diagnostics-feed.js';
import type { DiagnosticsStore } from './diagnostics-store.js';

/** Largest `custom` payload, as JSON text (it travels in every check of its device). */
export const MAX_CUSTOM_PAYLOAD_BYTES = 4096;

/** A new command, as the admin API asks for it. */
export interface CreateCommandInput {
  readonly targetType: TargetType;
  readonly targetId: string;
  readonly kind: DiagnosticKind;
  /** `upload_logs` (required) and `upload_crash_dumps` (optional): how far back, in hours. */
  readonly sinceHours?: number | undefined;
  /** `custom` only (required): what the device receives as `params`. */
  readonly payload?: Readonly<Record<string, unknown>> | undefined;
  /** Default `diagnostics.defaultExpirySeconds`; at most `diagnostics.maxExpirySeconds`. */
  readonly expiresInSeconds?: number | undefined;
  readonly note?: string | undefined;
}

/** A list filter of the admin API. */
export interface ListCommandsInput {
  readonly state?: DiagnosticState | undefined;
  readonly deviceId?: string | undefined;
  readonly userId?: string | undefined;
  readonly cursor?: string | undefined;
  readonly limit: number;
}

/** Who is uploading: the device's ids as its request declares them. */
export interface Uploader {
  readonly deviceId: string;
  readonly userId: string | undefined;
}

export interface DiagnosticsServiceDeps {
  readonly store: DiagnosticsStore;
  readonly feed: Pick<DiagnosticsFeed, 'flush'>;
  /** The diagnostics blob store (not the package store: uploads are for admins only). */
  readonly blobs: Pick<BlobWriter, 'stage'> & Pick<BlobReader, 'openRead'>;
  readonly apps: Pick<AppService, 'getApp'>;
  readonly clock: Clock;
  readonly config: Pick<Config, 'diagnostics'>;
  /** A command of the app changed: refresh the feed here and in every other process. */
  readonly notifyChanged: (appId: string) => Promise<void>;
  readonly onError?: (err: unknown, context: string) => void;
}

const CURSOR = /^diag_[0-9a-hjkmnp-tv-z]{26}$/;

/**
 * Diagnostic commands: a releaser asks one device (or every device of one user) to upload its
 * logs or crash dumps; the device gets the command in its next check (see {@link DiagnosticsFeed})
 * and answers with one upload, streamed to the diagnostics blob store under a size limit.
 * pending → delivered → uploaded, or → cancelled / expired.
 */
export class DiagnosticsService {
  readonly #d: DiagnosticsServiceDeps;
  #sweepTimer: NodeJS.Timeout | undefined;

  constructor(deps: DiagnosticsServiceDeps) {
    this.#d = deps;
  }

  /** The service's clock (the admin views compute states with it). */
  now(): Date {
    return this.#d.clock.now();
  }

  async create(appId: string, input: CreateCommandInput): Promise<DiagnosticCommand> {
    await this.#d.apps.getApp(appId);
    const params = paramsOf(input);
    const { defaultExpirySeconds, maxExpirySeconds } = this.#d.config.diagnostics;
    const seconds = input.expiresInSeconds ?? Math.min(defaultExpirySeconds, maxExpirySeconds);
    if (seconds > maxExpirySeconds) throw DiagExpiryTooLong({ seconds, max: maxExpirySeconds });
    const now = this.now();
    const cmd: DiagnosticCommand = {
      id: newId('diag', now.getTime()),
      appId,
      targetType: input.targetType,
      targetId: input.targetId,
      kind: input.kind,
      params,
      note: input.note === undefined || input.note === '' ? null : input.note,
      state: 'pending',
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + seconds * 1000).toISOString(),
      deliveredAt: null,
      deliveredTo: null,
      uploadedAt: null,
      cancelledAt: null,
      expiredAt: null,
      upload: null,
    };
    await this.#d.store.insert(cmd);
    await this.#d.notifyChanged(appId);
    return cmd;
  }

  /** One page of the app's commands, newest first; `nextCursor` fetches the next page. */
  async list(appId: string, input: ListCommandsInput): Promise<{ commands: DiagnosticCommand[]; nextCursor: string | null }> {
    await this.#d.apps.getApp(appId);
    if (input.cursor !== undefined && !CURSOR.test(input.cursor)) throw DiagCursorInvalid();
    if (input.deviceId !== undefined && input.userId !== undefined) {
      throw DiagParamsInvalid(undefined, { detail: 'Filter by `device` or by `user`, not both' });
    }
    await this.#flushQuietly();
    const rows = await this.#d.store.list({
      appId,
      now: this.now().toISOString(),
      state: input.state,
      targetType: input.deviceId !== undefined ? 'device' : input.userId !== undefined ? 'user' : undefined,
      targetId: input.deviceId ?? input.userId,
      before: input.cursor,
      limit: input.limit + 1,
    });
    const more = rows.length > input.limit;
    const commands = more ? rows.slice(0, input.limit) : rows;
    return { commands, nextCursor: more ? (commands.at(-1)?.id ?? null) : null };
  }

  async get(appId: string, id: string): Promise<DiagnosticCommand> {
    await this.#flushQuietly();
    const cmd = await this.#d.store.get(appId, id);
    if (cmd === null) throw DiagNotFound({ id });
    return cmd;
  }

  /** Cancels an open command (a cancelled one is returned as it is). */
  async cancel(appId: string, id: string): Promise<DiagnosticCommand> {
    const cmd = await this.get(appId, id);
    const refusal = cancelRefusal(cmd, this.now());
    if (refusal !== null) throw refusal;
    if (cmd.state === 'cancelled') return cmd;
    if (!(await this.#d.store.cancel(appId, id, this.now().toISOString()))) {
      // Uploaded, expired or cancelled between the read and the write.
      const again = await this.get(appId, id);
      const late = cancelRefusal(again, this.now());
      if (late !== null) throw late;
      return again;
    }
    await this.#d.notifyChanged(appId);
    return this.get(appId, id);
  }

  /**
   * Stores a device's upload for a command: checks who uploads and the command's state before a
   * byte is read, then streams `source` into the blob store (at most `diagnostics.uploadMaxBytes`;
   * past it nothing is kept) and records it.
   */
  async upload(
    appId: string,
    id: string,
    who: Uploader,
    source: BlobSource,
    meta: { readonly contentType: string; readonly declaredLength?: number | undefined },
  ): Promise<DiagnosticCommand> {
    const cmd = await this.#d.store.get(appId, id);
    if (cmd === null) throw DiagNotFound({ id });
    if (!targets(cmd, who.deviceId, who.userId)) throw DiagTargetMismatch({ id, targetType: cmd.targetType });
    const refusal = uploadRefusal(cmd, this.now());
    if (refusal !== null) throw refusal;
    const max = this.#d.config.diagnostics.uploadMaxBytes;
    const tooLarge = () =>
      DiagUploadTooLarge({ limit: max }, {
        detail: `The upload exceeds ${max} bytes (HALFTONE_DIAGNOSTICS_UPLOAD_MAX_BYTES); nothing was stored`,
      });
    if (meta.declaredLength !== undefined && meta.declaredLength > max) throw tooLarge();
    let staged: Awaited<ReturnType<BlobWriter['stage']>>;
    try {
      staged = await this.#d.blobs.stage(source, { maxBytes: max });
    } catch (err) {
      if (uploadTooLarge.is(err)) throw tooLarge();
      throw err;
    }
    // Committed before it is recorded: a recorded upload always has its bytes. A blob committed
    // for a command that lost a race below stays (content-addressed, possibly shared) — rare and small.
    await staged.commit();
    const at = this.now().toISOString();
    const upload = { sha256: staged.sha256, size: staged.size, contentType: meta.contentType, deviceId: who.deviceId };
    if (!(await this.#d.store.markUploaded(appId, id, upload, at))) {
      const again = await this.#d.store.get(appId, id);
      throw (again === null ? null : uploadRefusal(again, this.now())) ?? DiagAlreadyUploaded({ id });
    }
    await this.#d.notifyChanged(appId);
    return (await this.#d.store.get(appId, id)) ?? cmd;
  }

  /** The uploaded file of a command, to stream to an admin. */
  async openUpload(appId: string, id: string): Promise<{ cmd: DiagnosticCommand; upload: NonNullable<DiagnosticCommand['upload']>; stream: Readable }> {
    const cmd = await this.get(appId, id);
    if (cmd.upload === null) throw DiagUploadMissing({ id, state: cmd.state });
    return { cmd, upload: cmd.upload, stream: await this.#d.blobs.openRead(cmd.upload.sha256) };
  }

  /** Marks every open command past its expiry as expired; returns how many apps had some. */
  async sweep(): Promise<number> {
    const apps = await this.#d.store.expire(this.now().toISOString());
    for (const appId of apps) await this.#d.notifyChanged(appId);
    return apps.length;
  }

  /** Starts the periodic expiry sweep. */
  start(): void {
    if (this.#sweepTimer !== undefined) return;
    this.#sweepTimer = setInterval(() => {
      this.sweep().catch((err) => this.#d.onError?.(err, 'diagnostics expiry sweep'));
    }, this.#d.config.diagnostics.sweepIntervalMs);
    this.#sweepTimer.unref();
  }

  stop(): void {
    if (this.#sweepTimer !== undefined) clearInterval(this.#sweepTimer);
    this.#sweepTimer = undefined;
  }

  /** Admin reads show deliveries not written yet; a failed write is retried by the timer. */
  async #flushQuietly(): Promise<void> {
    await this.#d.feed.flush().catch((err) => this.#d.onError?.(err, 'diagnostics delivery flush'));
  }
}

/** The `params` a device receives, checked against the kind. */
export function paramsOf(input: Pick<CreateCommandInput, 'kind' | 'sinceHours' | 'payload'>): Record<string, unknown> {
  const invalid = (detail: string) => DiagParamsInvalid(undefined, { detail });
  switch (input.kind) {
    case 'upload_logs':
      if (input.payload !== undefined) throw invalid('`payload` is for kind `custom` only');
      if (input.sinceHours === undefined) throw invalid('kind `upload_logs` needs `sinceHours`');
      return { sinceHours: input.sinceHours };
    case 'upload_crash_dumps':
      if (input.payload !== undefined) throw invalid('`payload` is for kind `custom` only');
      return input.sinceHours === undefined ? {} : { sinceHours: input.sinceHours };
    case 'custom': {
      if (input.sinceHours !== undefined) throw invalid('kind `custom` carries its parameters in `payload`');
      if (input.payload === undefined) throw invalid('kind `custom` needs a `payload` object');
      const size = Buffer.byteLength(JSON.stringify(input.payload));
      if (size > MAX_CUSTOM_PAYLOAD_BYTES) {
        throw invalid(`\`payload\` is ${size} bytes of JSON; at most ${MAX_CUSTOM_PAYLOAD_BYTES}`);
      }
      return { ...input.payload };
    }
  }
}
