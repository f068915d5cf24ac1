import { randomUUID } from 'node:crypto';

/** Every Halftone error code matches this pattern: `HT_<SLICE>_<REASON>`, upper snake case. */
export const ERROR_CODE_PATTERN = /^HT_[A-Z0-9_]+$/;

/**
 * Codes that were once part of the public API and have been removed. A retired code is never
 * defined again with a different meaning (the Fastify `lib/warnings.js` rule): clients may still
 * hold logic keyed on it. `error-catalogue.test.ts` enforces this.
 */
export const RETIRED_CODES: readonly string[] = Object.freeze([]);

/** A field-level problem, reported as `errors[]` in a problem+json body. */
export interface HalftoneErrorField {
  /** JSON pointer (RFC 6901) into the request, e.g. `/body/modules/0/name`. */
  readonly pointer: string;
  /** What is wrong with that field, safe to show to clients. */
  readonly message: string;
}

/** Options accepted by the `HalftoneError` constructor. */
export interface HalftoneErrorInit {
  /** Stable code, `HT_<SLICE>_<REASON>`. */
  readonly code: string;
  /** HTTP status, 400–599. */
  readonly status: number;
  /** Summary safe to show to clients. */
  readonly message: string;
  /** Occurrence-specific explanation, also safe to show to clients. */
  readonly detail?: string;
  /** Field-level problems. */
  readonly fields?: readonly HalftoneErrorField[];
  /** The underlying error; logged, never sent to clients. */
  readonly cause?: unknown;
}

/** Options a `defineError` factory accepts besides template parameters. */
export interface HalftoneErrorOptions {
  readonly detail?: string;
  readonly cause?: unknown;
  readonly fields?: readonly HalftoneErrorField[];
}

// A brand that survives duplicated module instances (two copies of this file in one process).
const BRAND = Symbol.for('halftone.HalftoneError');

/**
 * The one error class of the Halftone server. Everything it carries except `cause` is safe to
 * send to clients; the error handler turns it into an RFC 9457 problem document.
 *
 * Prefer the factories made by {@link defineError} over calling the constructor, so the code is
 * in the catalogue (and therefore documented).
 *
 * @example
 * throw new HalftoneError({ code: 'HT_INTERNAL', status: 500, message: 'Internal server error' });
 */
export class HalftoneError extends Error {
  /** Stable machine-readable code, `HT_<SLICE>_<REASON>`. */
  readonly code: string;
  /** HTTP status to answer with. */
  readonly status: number;
  /** Optional occurrence-specific explanation, safe for clients. */
  readonly detail: string | undefined;
  /** Optional field-level problems. */
  readonly fields: readonly HalftoneErrorField[] | undefined;
  /** Random id of this occurrence, shown to clients and logged, to correlate the two. */
  readonly errorId: string;

  constructor(init: HalftoneErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    if (!ERROR_CODE_PATTERN.test(init.code)) {
      throw new TypeError(`Invalid Halftone error code ${JSON.stringify(init.code)}`);
    }
    this.name = 'HalftoneError';
    this.code = init.code;
    this.status = init.status;
    this.detail = init.detail;
    this.fields = init.fields === undefined ? undefined : Object.freeze([...init.fields]);
    this.errorId = randomUUID();
    Object.defineProperty(this, BRAND, { value: true });
  }
}

/** `true` when `e` is a {@link HalftoneError} (also across duplicated module instances). */
export function isHalftoneError(e: unknown): e is HalftoneError {
  return (
    e instanceof HalftoneError ||
    (typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[BRAND] === true)
  );
}

/** One entry of the error catalogue. */
export interface ErrorCatalogueEntry {
  readonly code: string;
  readonly status: number;
  readonly template: string;
}

/** A factory returned by {@link defineError}. */
export interface HalftoneErrorFactory {
  (params?: Record<string, string | number>, opts?: HalftoneErrorOptions): HalftoneError;
  /** The code every error made by this factory carries. */
  readonly code: string;
  /** The HTTP status every error made by this factory carries. */
  readonly status: number;
  /** The message template, with `{name}` placeholders. */
  readonly template: string;
  /** `true` when `e` is a HalftoneError with this factory's code. */
  is(e: unknown): e is HalftoneError;
}

const catalogue = new Map<string, ErrorCatalogueEntry>();

function fillTemplate(template: string, params: Record<string, string | number> | undefined) {
  if (params === undefined) return template;
  return template.replace(/\{([A-Za-z0-9_]+)\}/g, (whole, name: string) => {
    const value = Object.hasOwn(params, name) ? params[name] : undefined;
    return value === undefined ? whole : String(value);
  });
}

/**
 * Defines an error code and registers it in the process-wide catalogue (Fastify `createError`).
 * Call it at module top level in a slice's `*-errors.ts`, and import that module from
 * `src/error-codes.ts` so the catalogue test sees it.
 *
 * @param code `HT_<SLICE>_<REASON>`; defining a code twice, or a retired code, throws.
 * @param status HTTP status, 400–599.
 * @param template client-safe message; `{name}` placeholders are filled from the params.
 * @example
 * export const releaseNotFound = defineError('HT_RELEASE_NOT_FOUND', 404, 'Release {releaseId} not found');
 * throw releaseNotFound({ releaseId: 'rel_01jz…' });
 */
export function defineError(code: string, status: number, template: string): HalftoneErrorFactory {
  if (!ERROR_CODE_PATTERN.test(code)) {
    throw new TypeError(`Error code ${JSON.stringify(code)} does not match ${ERROR_CODE_PATTERN}`);
  }
  if (!Number.isInteger(status) || status < 400 || status > 599) {
    throw new TypeError(`Error code ${code}: status ${status} is not in 400–599`);
  }
  if (RETIRED_CODES.includes(code)) {
    throw new Error(`Error code ${code} is retired and must not be reused`);
  }
  if (catalogue.has(code)) {
    throw new Error(`Error code ${code} is already defined`);
  }
  catalogue.set(code, Object.freeze({ code, status, template }));

  const factory = (
    params?: Record<string, string | number>,
    opts: HalftoneErrorOptions = {},
  ): HalftoneError =>
    new HalftoneError({
      code,
      status,
      message: fillTemplate(template, params),
      ...(opts.detail === undefined ? {} : { detail: opts.detail }),
      ...(opts.fields === undefined ? {} : { fields: opts.fields }),
      ...(opts.cause === undefined ? {} : { cause: opts.cause }),
    });
  const is = (e: unknown): e is HalftoneError => isHalftoneError(e) && e.code === code;
  return Object.assign(factory, { code, status, template, is });
}

/**
 * Every code defined so far in this process, in definition order. Import `src/error-codes.ts`
 * first to get the complete list.
 */
export function errorCatalogue(): readonly ErrorCatalogueEntry[] {
  return Object.freeze([...catalogue.values()]);
}
