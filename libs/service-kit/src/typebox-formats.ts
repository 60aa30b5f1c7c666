import { FormatRegistry } from '@sinclair/typebox';
import { fullFormats } from 'ajv-formats/dist/formats.js';

/**
 * TypeBox's own checker (`Value.Check`, used for config and cursors) knows no string formats
 * until they are registered. Borrow ajv-formats' definitions, so both validators agree.
 */
for (const name of ['email', 'uuid', 'date-time', 'uri'] as const) {
  if (FormatRegistry.Has(name)) continue;
  const format = fullFormats[name];
  const check =
    format instanceof RegExp
      ? (value: string) => format.test(value)
      : typeof format === 'function'
        ? format
        : (value: string) => (format as { validate: (value: string) => boolean }).validate(value);
  FormatRegistry.Set(name, check as (value: string) => boolean);
}
