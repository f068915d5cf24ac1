import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';

const Str = (max: number, min = 1) => Type.String({ minLength: min, maxLength: max });
/** Epoch milliseconds, or an RFC 3339 date-time string. */
const Timestamp = Type.Union([Type.Number({ minimum: 0 }), Str(40)]);
const Uuid = Type.String({
  pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$',
  description: 'Client-generated UUID (v4 or v7): the idempotency key of the item',
});

/** The batch header: who sent it and what the device runs. */
export const EventsHeader = Type.Object(
  {
    deviceId: Str(256),
    userId: Type.Optional(Type.String({ maxLength: 256 })),
    app: Str(64),
    platform: Str(32),
    appVersion: Str(64),
    sent_at: Timestamp,
    /** Module name → the version the device runs (what attributes its events to releases). */
    modules: Type.Record(Type.String({ minLength: 1, maxLength: 128 }), Str(64), { maxProperties: 200 }),
    deviceModel: Type.Optional(Type.String({ maxLength: 128 })),
    osVersion: Type.Optional(Type.String({ maxLength: 64 })),
  },
  { additionalProperties: true },
);
export type EventsHeader = Static<typeof EventsHeader>;

const base = { id: Uuid, ts: Timestamp };
const ModuleRef = { module: Type.Optional(Str(128)), moduleVersion: Type.Optional(Str(64)) };

export const SessionItem = Type.Object(
  {
    ...base,
    type: Type.Literal('session'),
    sid: Str(128),
    phase: Type.Union([Type.Literal('start'), Type.Literal('end')]),
    status: Type.Union([Type.Literal('ok'), Type.Literal('exited'), Type.Literal('crashed'), Type.Literal('abnormal')]),
    duration: Type.Optional(Type.Number({ minimum: 0, description: 'Milliseconds' })),
  },
  { additionalProperties: false },
);
export const CrashItem = Type.Object(
  {
    ...base,
    ...ModuleRef,
    type: Type.Literal('crash'),
    signature: Type.Optional(Type.String({ maxLength: 16_384 })),
    stack: Type.Optional(Type.String({ maxLength: 262_144 })),
    exceptionType: Type.Optional(Type.String({ maxLength: 256 })),
    message: Type.Optional(Type.String({ maxLength: 4096 })),
    fatal: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export const AnrItem = Type.Object(
  {
    ...base,
    ...ModuleRef,
    type: Type.Literal('anr'),
    stack: Type.Optional(Type.String({ maxLength: 262_144 })),
    message: Type.Optional(Type.String({ maxLength: 4096 })),
    duration: Type.Optional(Type.Number({ minimum: 0 })),
  },
  { additionalProperties: false },
);
export const PageViewItem = Type.Object(
  {
    ...base,
    type: Type.Literal('page_view'),
    page: Str(512),
    referrer: Type.Optional(Type.String({ maxLength: 512 })),
    duration: Type.Optional(Type.Number({ minimum: 0 })),
  },
  { additionalProperties: false },
);
const resultFields = {
  ...base,
  module: Str(128),
  version: Str(64),
  ok: Type.Boolean(),
  error: Type.Optional(Type.String({ maxLength: 2048 })),
  releaseId: Type.Optional(Type.String({ maxLength: 128 })),
};
export const DownloadItem = Type.Object(
  { ...resultFields, type: Type.Literal('download'), bytes: Type.Optional(Type.Number({ minimum: 0 })) },
  { additionalProperties: false },
);
export const InstallItem = Type.Object(
  { ...resultFields, type: Type.Literal('install') },
  { additionalProperties: false },
);
export const CustomItem = Type.Object(
  {
    ...base,
    type: Type.Literal('custom'),
    name: Str(128),
    attributes: Type.Optional(
      Type.Record(
        Type.String({ maxLength: 64 }),
        Type.Union([Type.String({ maxLength: 512 }), Type.Number(), Type.Boolean()]),
        { maxProperties: 32 },
      ),
    ),
  },
  { additionalProperties: false },
);
/** Feedback text is not length-limited by the schema: over `feedbackMaxChars` it is truncated. */
export const FeedbackItem = Type.Object(
  {
    ...base,
    type: Type.Literal('feedback'),
    text: Type.String({ maxLength: 1_000_000 }),
    rating: Type.Optional(Type.Integer({ minimum: 1, maximum: 5 })),
    page: Type.Optional(Type.String({ maxLength: 512 })),
  },
  { additionalProperties: false },
);
export const ClientReportItem = Type.Object(
  {
    ...base,
    type: Type.Literal('client_report'),
    discarded: Type.Array(
      Type.Object(
        { reason: Str(64), category: Str(64), quantity: Type.Integer({ minimum: 0, maximum: 1_000_000_000 }) },
        { additionalProperties: false },
      ),
      { maxItems: 100 },
    ),
  },
  { additionalProperties: false },
);

export type SessionItem = Static<typeof SessionItem>;
export type CrashItem = Static<typeof CrashItem>;
export type AnrItem = Static<typeof AnrItem>;
export type PageViewItem = Static<typeof PageViewItem>;
export type DownloadItem = Static<typeof DownloadItem>;
export type InstallItem = Static<typeof InstallItem>;
export type CustomItem = Static<typeof CustomItem>;
export type FeedbackItem = Static<typeof FeedbackItem>;
export type ClientReportItem = Static<typeof ClientReportItem>;
export type EventItem =
  | SessionItem
  | CrashItem
  | AnrItem
  | PageViewItem
  | DownloadItem
  | InstallItem
  | CustomItem
  | FeedbackItem
  | ClientReportItem;
export type EventType = EventItem['type'];

const ITEM_SCHEMAS: Record<EventType, TSchema> = {
  session: SessionItem,
  crash: CrashItem,
  anr: AnrItem,
  page_view: PageViewItem,
  download: DownloadItem,
  install: InstallItem,
  custom: CustomItem,
  feedback: FeedbackItem,
  client_report: ClientReportItem,
};
export const EVENT_TYPES = Object.keys(ITEM_SCHEMAS) as EventType[];

type Checker = ReturnType<typeof TypeCompiler.Compile>;
/** One compiled checker per item type (compiled once; checking is the hot path). */
const ITEM_CHECKERS = new Map<string, Checker>(
  Object.entries(ITEM_SCHEMAS).map(([type, schema]) => [type, TypeCompiler.Compile(schema)]),
);
const HEADER_CHECKER = TypeCompiler.Compile(EventsHeader);

/** The first few schema problems of a value, as `path: message` strings. */
function problems(checker: Checker, value: unknown, limit = 5): { path: string; message: string }[] {
  const out: { path: string; message: string }[] = [];
  for (const e of checker.Errors(value)) {
    out.push({ path: e.path, message: e.message });
    if (out.length === limit) break;
  }
  return out;
}

export function checkHeader(value: unknown): { ok: true; header: EventsHeader } | { ok: false; problems: { path: string; message: string }[] } {
  if (HEADER_CHECKER.Check(value)) return { ok: true, header: value };
  return { ok: false, problems: problems(HEADER_CHECKER, value) };
}

export type ItemCheck =
  | { readonly ok: true; readonly item: EventItem }
  | { readonly ok: false; readonly code: 'unknown_type' | 'invalid'; readonly message: string };

/** Validates one item against the schema of its `type`. */
export function checkItem(value: unknown): ItemCheck {
  const type = typeof value === 'object' && value !== null ? (value as { type?: unknown }).type : undefined;
  const checker = typeof type === 'string' ? ITEM_CHECKERS.get(type) : undefined;
  if (checker === undefined) {
    return {
      ok: false,
      code: 'unknown_type',
      message: `type must be one of ${EVENT_TYPES.join(', ')}${typeof type === 'string' ? ` (got "${type.slice(0, 40)}")` : ''}`,
    };
  }
  if (checker.Check(value)) return { ok: true, item: value as EventItem };
  const ps = problems(checker, value, 3);
  return { ok: false, code: 'invalid', message: ps.map((p) => `${p.path || '/'} ${p.message}`).join('; ') };
}

/** The response to an accepted batch. */
export const IngestResponse = Type.Object({
  accepted: Type.Integer({ description: 'Items stored by this request' }),
  duplicates: Type.Integer({ description: 'Items already stored before (resent), not counted again' }),
  rejected: Type.Array(
    Type.Object({ index: Type.Integer(), code: Type.String(), message: Type.String() }),
    { description: 'Items dropped as invalid: their index in the batch, a code and why' },
  ),
  truncated: Type.Array(Type.Integer(), { description: 'Indexes of feedback items whose text was truncated' }),
  skewMs: Type.Number({ description: 'Server receive time − sent_at, added to every item timestamp' }),
});
export type IngestResponse = Static<typeof IngestResponse>;

const Rate = Type.Union([Type.Number(), Type.Null()]);
const Counts = {
  sessions: Type.Integer(),
  sessionsCrashed: Type.Integer(),
  sessionsAbnormal: Type.Integer(),
  sessionsExited: Type.Integer(),
  crashes: Type.Integer(),
  anrs: Type.Integer(),
  crashFreeSessionRate: Rate,
  crashRate: Rate,
  anrRate: Rate,
};

export const HealthResponse = Type.Object({
  app: Type.String(),
  release: Type.Union([Type.String(), Type.Null()]),
  module: Type.Union([Type.String(), Type.Null()]),
  version: Type.Union([Type.String(), Type.Null()]),
  from: Type.String(),
  to: Type.String(),
  ...Counts,
  distinctDevices: Type.Integer(),
  installs: Type.Object({ ok: Type.Integer(), failed: Type.Integer() }),
  downloads: Type.Object({ ok: Type.Integer(), failed: Type.Integer() }),
  pageViews: Type.Integer(),
  feedback: Type.Integer(),
  dropped: Type.Integer(),
  byDeviceModel: Type.Array(Type.Object({ deviceModel: Type.String(), ...Counts })),
  byStage: Type.Array(Type.Object({ stage: Type.String(), ...Counts })),
  topCrashGroups: Type.Array(
    Type.Object({
      fingerprint: Type.String(),
      exceptionType: Type.String(),
      title: Type.String(),
      count: Type.Integer(),
      firstSeen: Type.String(),
      lastSeen: Type.String(),
    }),
  ),
});
