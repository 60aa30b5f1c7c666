import { FormatRegistry } from '@sinclair/typebox';
import { fullFormats } from 'ajv-formats/dist/formats.js';

/**
 * TypeBox's checker knows no string formats until they are registered, and event payloads carry
 * uuids and timestamps. Registered only when nobody has yet, with the service kit's definitions
 * (a uuid is what PostgreSQL's uuid type takes, no `urn:uuid:` form), so the two always agree
 * whichever loads first.
 */
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

if (!FormatRegistry.Has('uuid')) FormatRegistry.Set('uuid', (value) => UUID_PATTERN.test(value));
if (!FormatRegistry.Has('date-time')) {
  const dateTime = fullFormats['date-time'] as { validate: (value: string) => boolean } | ((value: string) => boolean);
  FormatRegistry.Set('date-time', typeof dateTime === 'function' ? dateTime : (value) => dateTime.validate(value));
}
