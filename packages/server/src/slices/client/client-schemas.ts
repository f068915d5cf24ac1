import { type Static, Type } from '@sinclair/typebox';
import { DeviceCommand } from '../diagnostics/index.js';

const Str = (max: number) => Type.String({ minLength: 1, maxLength: max });

export const CheckBody = Type.Object(
  {
    deviceId: Str(256),
    userId: Type.Optional(Type.String({ maxLength: 256 })),
    platform: Str(32),
    appVersion: Str(64),
    osVersion: Type.Optional(Type.String({ maxLength: 64 })),
    channel: Type.Optional(Type.String({ maxLength: 128 })),
    deviceModel: Type.Optional(Type.String({ maxLength: 128 })),
    cpu: Type.Optional(Type.String({ maxLength: 128 })),
    region: Type.Optional(Type.String({ maxLength: 128 })),
    attributes: Type.Optional(
      Type.Record(
        Type.String({ maxLength: 64 }),
        Type.Union([Type.String({ maxLength: 1024 }), Type.Number(), Type.Boolean()]),
        { maxProperties: 64 },
      ),
    ),
    modules: Type.Array(
      Type.Object(
        { name: Str(128), version: Type.Optional(Type.String({ maxLength: 64 })) },
        { additionalProperties: false },
      ),
      { maxItems: 1000 },
    ),
  },
  { additionalProperties: true },
);
export type CheckBody = Static<typeof CheckBody>;

export const ModuleAnswer = Type.Object({
  name: Type.String(),
  action: Type.Union([
    Type.Literal('none'),
    Type.Literal('update'),
    Type.Literal('rollback'),
    Type.Literal('disable'),
    Type.Literal('store-update'),
  ]),
  version: Type.Optional(Type.String()),
  url: Type.Optional(Type.String()),
  hash: Type.Optional(Type.String()),
  contentHash: Type.Optional(Type.String()),
  size: Type.Optional(Type.Number()),
  kind: Type.Optional(Type.String()),
  fallbackUrl: Type.Optional(Type.String()),
  patch: Type.Optional(
    Type.Object(
      {
        url: Type.String(),
        size: Type.Number(),
        hash: Type.String({ description: 'SHA-256 of the patch file' }),
        from: Type.String({ description: 'The version the patch applies to' }),
      },
      { description: 'A patch from the version the device runs; fall back to `url` on any failure' },
    ),
  ),
  mandatory: Type.Optional(Type.Boolean()),
  releaseId: Type.Optional(Type.String()),
});
export type ModuleAnswer = Static<typeof ModuleAnswer>;

export const CheckResponse = Type.Object({
  modules: Type.Array(ModuleAnswer),
  commands: Type.Optional(
    Type.Array(DeviceCommand, {
      description:
        'Diagnostic commands for this device (by `deviceId`, or `userId`), present only when there are ' +
        'some. Act on each `id` once: a command is repeated until it is uploaded, cancelled or expires.',
    }),
  ),
});
export type CheckResponse = Static<typeof CheckResponse>;

export const ReportBody = Type.Object(
  {
    deviceId: Str(256),
    userId: Type.Optional(Type.String({ maxLength: 256 })),
    events: Type.Array(
      Type.Object(
        {
          type: Type.Union([Type.Literal('download'), Type.Literal('install')]),
          releaseId: Str(64),
          ok: Type.Boolean(),
          reason: Type.Optional(Type.String({ maxLength: 1024 })),
          fromVersion: Type.Optional(Type.String({ maxLength: 64 })),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 100 },
    ),
  },
  { additionalProperties: true },
);
export type ReportBody = Static<typeof ReportBody>;

export const ReportResponse = Type.Object({
  accepted: Type.Integer(),
  rejected: Type.Array(
    Type.Object({ index: Type.Integer(), code: Type.String(), message: Type.String() }),
  ),
});
export type ReportResponse = Static<typeof ReportResponse>;
