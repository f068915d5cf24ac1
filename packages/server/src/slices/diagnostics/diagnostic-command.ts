import type { HalftoneError } from '../../platform/errors/halftone-error.js';
import { DiagAlreadyUploaded, DiagCancelled, DiagExpired, DiagNotCancellable } from './diagnostics-errors.js';

/** What a command asks the device to do. */
export const DIAGNOSTIC_KINDS = ['upload_logs', 'upload_crash_dumps', 'custom'] as const;
export type DiagnosticKind = (typeof DIAGNOSTIC_KINDS)[number];

/** Who a command is for: one device id, or every device that checks with one user id. */
export const TARGET_TYPES = ['device', 'user'] as const;
export type TargetType = (typeof TARGET_TYPES)[number];

/** Stored states. `expired` is also what a pending or delivered command past its expiry reads as. */
export const DIAGNOSTIC_STATES = ['pending', 'delivered', 'uploaded', 'cancelled', 'expired'] as const;
export type DiagnosticState = (typeof DIAGNOSTIC_STATES)[number];

/** The uploaded file of a command. */
export interface DiagnosticUpload {
  readonly sha256: string;
  readonly size: number;
  readonly contentType: string;
  /** The device that uploaded it. */
  readonly deviceId: string;
}

/** A diagnostic command as stored (timestamps ISO-8601 UTC). */
export interface DiagnosticCommand {
  readonly id: string;
  readonly appId: string;
  readonly targetType: TargetType;
  readonly targetId: string;
  readonly kind: DiagnosticKind;
  /** What the device receives as `params` (e.g. `{ sinceHours: 24 }`, or a custom payload). */
  readonly params: Readonly<Record<string, unknown>>;
  readonly note: string | null;
  /** The stored state; see {@link effectiveState} for what it reads as now. */
  readonly state: DiagnosticState;
  readonly createdAt: string;
  readonly expiresAt: string;
  readonly deliveredAt: string | null;
  readonly deliveredTo: string | null;
  readonly uploadedAt: string | null;
  readonly cancelledAt: string | null;
  readonly expiredAt: string | null;
  readonly upload: DiagnosticUpload | null;
}

/** `true` while the command can still be delivered and answered (pending or delivered). */
export function isOpenState(state: DiagnosticState): boolean {
  return state === 'pending' || state === 'delivered';
}

/**
 * The state a command reads as at `now`: an open command (pending or delivered) whose expiry has
 * passed is `expired` even before the periodic sweep writes it; every other state is final.
 *
 * @example
 * effectiveState({ ...cmd, state: 'delivered', expiresAt: '2026-01-01T00:00:00.000Z' }, new Date('2026-02-01'));
 * // 'expired'
 */
export function effectiveState(cmd: Pick<DiagnosticCommand, 'state' | 'expiresAt'>, now: Date): DiagnosticState {
  if (isOpenState(cmd.state) && Date.parse(cmd.expiresAt) <= now.getTime()) return 'expired';
  return cmd.state;
}

/** When the command expired (the sweep's record, else its expiry once passed), or `null`. */
export function expiredAt(cmd: DiagnosticCommand, now: Date): string | null {
  if (cmd.expiredAt !== null) return cmd.expiredAt;
  return effectiveState(cmd, now) === 'expired' ? cmd.expiresAt : null;
}

/** One step of a command's history. */
export interface StateChange {
  readonly state: DiagnosticState;
  readonly at: string;
}

/**
 * The states a command went through, in order, with their times: always `pending` first, then
 * whichever of delivered, uploaded, cancelled and expired happened.
 */
export function stateHistory(cmd: DiagnosticCommand, now: Date): StateChange[] {
  const history: StateChange[] = [{ state: 'pending', at: cmd.createdAt }];
  if (cmd.deliveredAt !== null) history.push({ state: 'delivered', at: cmd.deliveredAt });
  if (cmd.uploadedAt !== null) history.push({ state: 'uploaded', at: cmd.uploadedAt });
  if (cmd.cancelledAt !== null) history.push({ state: 'cancelled', at: cmd.cancelledAt });
  const expired = cmd.uploadedAt === null && cmd.cancelledAt === null ? expiredAt(cmd, now) : null;
  if (expired !== null) history.push({ state: 'expired', at: expired });
  return history;
}

/**
 * Why an upload for this command is refused at `now`, or `null` when it may go ahead. The target
 * check comes first (the caller's business: a device learns nothing about other devices' commands).
 */
export function uploadRefusal(cmd: DiagnosticCommand, now: Date): HalftoneError | null {
  switch (effectiveState(cmd, now)) {
    case 'pending':
    case 'delivered':
      return null;
    case 'uploaded':
      return DiagAlreadyUploaded({ id: cmd.id });
    case 'cancelled':
      return DiagCancelled({ id: cmd.id });
    case 'expired':
      return DiagExpired({ id: cmd.id, expiresAt: cmd.expiresAt });
  }
}

/** Why this command cannot be cancelled at `now`, or `null`. Cancelling twice is not an error. */
export function cancelRefusal(cmd: DiagnosticCommand, now: Date): HalftoneError | null {
  const state = effectiveState(cmd, now);
  if (isOpenState(state) || state === 'cancelled') return null;
  return DiagNotCancellable({ id: cmd.id, state });
}

/** `true` when a device (by its ids) is who the command targets. */
export function targets(
  cmd: Pick<DiagnosticCommand, 'targetType' | 'targetId'>,
  deviceId: string,
  userId: string | undefined,
): boolean {
  if (cmd.targetType === 'device') return cmd.targetId === deviceId;
  return userId !== undefined && userId !== '' && cmd.targetId === userId;
}
