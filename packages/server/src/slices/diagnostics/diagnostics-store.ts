import type { DiagnosticCommand, DiagnosticState, DiagnosticUpload, TargetType } from './diagnostic-command.js';

/** A filter of {@link DiagnosticsStore.list}. `state` is the state a command reads as at `now`. */
export interface DiagnosticsQuery {
  readonly appId: string;
  readonly now: string;
  readonly state?: DiagnosticState | undefined;
  readonly targetType?: TargetType | undefined;
  readonly targetId?: string | undefined;
  /** Only ids before this one (the page cursor: ids sort by creation time). */
  readonly before?: string | undefined;
  readonly limit: number;
}

/** A first delivery to record. */
export interface Delivery {
  readonly id: string;
  readonly at: string;
  readonly deviceId: string;
}

/**
 * Where diagnostic commands live. Every state change is conditional on the state it starts from,
 * so concurrent processes (or a sweep racing an upload) never move a command backwards.
 */
export interface DiagnosticsStore {
  insert(cmd: DiagnosticCommand): Promise<void>;
  /** The command with this id in this app, or `null`. */
  get(appId: string, id: string): Promise<DiagnosticCommand | null>;
  /** Newest first. */
  list(query: DiagnosticsQuery): Promise<DiagnosticCommand[]>;
  /** The app's commands that are pending or delivered and not expired at `now` (the delivery index). */
  listOpen(appId: string, now: string): Promise<DiagnosticCommand[]>;
  /** pending → delivered for each (commands no longer pending are left alone); returns how many moved. */
  markDelivered(deliveries: readonly Delivery[]): Promise<number>;
  /**
   * pending/delivered and not expired at `at` → uploaded. `false` when the command is not in such
   * a state any more (cancelled, expired or uploaded meanwhile).
   */
  markUploaded(appId: string, id: string, upload: DiagnosticUpload, at: string): Promise<boolean>;
  /** pending/delivered and not expired at `at` → cancelled; `false` otherwise. */
  cancel(appId: string, id: string, at: string): Promise<boolean>;
  /** Every pending/delivered command whose expiry is at or before `now` → expired; returns their app ids. */
  expire(now: string): Promise<string[]>;
}
