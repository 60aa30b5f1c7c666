import { FormatRegistry } from '@sinclair/typebox';
import { fullFormats } from 'ajv-formats/dist/formats.js';

/**
 * The uuid format of every validator in the kit. ajv-formats' own also accepts the
 * `urn:uuid:` form, which PostgreSQL's uuid type refuses: such an id would pass validation and
 * turn into a 500 at the first query instead of a 404 or 400.
 */
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * TypeBox's own checker (`Value.Check`, used for config and cursors) knows no string formats
 * until they are registered. Borrow ajv-formats' definitions, so both validators agree.
 */
for (const name of ['email', 'uuid', 'date-time', 'uri'] as const) {
  if (FormatRegistry.Has(name)) continue;
  const format = name === 'uuid' ? UUID_PATTERN : fullFormats[name];
  const check =
    format instanceof RegExp
      ? (value: string) => format.test(value)
      : typeof format === 'function'
        ? format
        : (value: string) => (format as { validate: (value: string) => boolean }).validate(value);
  FormatRegistry.Set(name, check as (value: string) => boolean);
}
