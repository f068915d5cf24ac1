import { type Static, Type } from '@sinclair/typebox';
import { DIAGNOSTIC_KINDS, DIAGNOSTIC_STATES } from './diagnostic-command.js';

const Id = Type.String({ minLength: 1, maxLength: 256 });
const Kind = Type.Union(DIAGNOSTIC_KINDS.map((k) => Type.Literal(k)));
const State = Type.Union(DIAGNOSTIC_STATES.map((s) => Type.Literal(s)));

/** `POST /admin/v1/apps/:app/diagnostics`. */
export const CreateCommandBody = Type.Object(
  {
    deviceId: Type.Optional(Id),
    userId: Type.Optional(Id),
    kind: Kind,
    sinceHours: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 24 * 90, description: '`upload_logs` (required), `upload_crash_dumps`: how far back' }),
    ),
    payload: Type.Optional(
      Type.Record(Type.String({ maxLength: 128 }), Type.Unknown(), {
        maxProperties: 64,
        description: '`custom` only: what the device receives as `params` (at most 4 KB of JSON)',
      }),
    ),
    expiresInSeconds: Type.Optional(
      Type.Integer({ minimum: 1, description: 'Default `diagnostics.defaultExpirySeconds` (7 days)' }),
    ),
    note: Type.Optional(Type.String({ maxLength: 1000 })),
  },
  { additionalProperties: false },
);
export type CreateCommandBody = Static<typeof CreateCommandBody>;

export const ListCommandsQuery = Type.Object(
  {
    state: Type.Optional(State),
    device: Type.Optional(Id),
    user: Type.Optional(Id),
    limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,3}$', description: 'Page size, 1–200 (default 50)' })),
    cursor: Type.Optional(Type.String({ maxLength: 64, description: '`nextCursor` of the previous page' })),
  },
  { additionalProperties: false },
);
export type ListCommandsQuery = Static<typeof ListCommandsQuery>;

const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);

/** A command as the admin API shows it; `state` is what it reads as now (expired included). */
export const CommandView = Type.Object({
  id: Type.String(),
  app: Type.String(),
  target: Type.Object({ type: Type.Union([Type.Literal('device'), Type.Literal('user')]), id: Type.String() }),
  kind: Kind,
  params: Type.Record(Type.String(), Type.Unknown()),
  note: Nullable(Type.String()),
  state: State,
  createdAt: Type.String(),
  expiresAt: Type.String(),
  deliveredAt: Nullable(Type.String()),
  deliveredTo: Nullable(Type.String()),
  uploadedAt: Nullable(Type.String()),
  cancelledAt: Nullable(Type.String()),
  expiredAt: Nullable(Type.String()),
  upload: Type.Union([
    Type.Object({
      size: Type.Number(),
      sha256: Type.String(),
      contentType: Type.String(),
      deviceId: Type.String(),
    }),
    Type.Null(),
  ]),
  history: Type.Array(Type.Object({ state: State, at: Type.String() })),
});
export type CommandView = Static<typeof CommandView>;

export const CommandList = Type.Object({
  commands: Type.Array(CommandView),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
});

/** One command in a `/client/v1/check` answer (`commands`). */
export const DeviceCommand = Type.Object({
  id: Type.String(),
  kind: Kind,
  params: Type.Record(Type.String(), Type.Unknown()),
  expiresAt: Type.String(),
  uploadUrl: Type.String({ description: 'POST the file here with the client key and X-Halftone-Device-Id' }),
});
export type DeviceCommand = Static<typeof DeviceCommand>;

export const UploadResponse = Type.Object({
  id: Type.String(),
  state: Type.Literal('uploaded'),
  size: Type.Number(),
  sha256: Type.String(),
  uploadedAt: Type.String(),
});
