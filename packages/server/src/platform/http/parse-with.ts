import type { Static, TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { validationFailed } from '../errors/platform-errors.js';

/**
 * Validates a plain value with a TypeBox schema, reporting every problem as HT_VALIDATION; for
 * input a route schema cannot describe (multipart fields, optional bodies).
 *
 * @example
 * const meta = parseWith(UploadFields, fields, '/body');
 */
export function parseWith<S extends TSchema>(schema: S, value: unknown, where: string): Static<S> {
  if (Value.Check(schema, value)) return value as Static<S>;
  const fields = [...Value.Errors(schema, value)].slice(0, 20).map((e) => ({
    pointer: `${where}${e.path}`,
    message: e.message,
  }));
  throw validationFailed(undefined, {
    detail: fields.map((f) => `${f.pointer}: ${f.message}`).join('; '),
    fields,
  });
}

