import { Ajv, type Options } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';
import { canonicaliserOf } from './canonical-ids';
import { UUID_PATTERN } from './typebox-formats';

/**
 * Bodies are validated strictly (no type coercion, unknown properties rejected, never silently
 * removed); querystrings, params and headers arrive as strings, so those are coerced. Once valid,
 * every uuid is lowercased: one id, one spelling.
 */
export function buildValidatorCompiler(): FastifySchemaCompiler<unknown> {
  const common: Options = { removeAdditional: false, useDefaults: true, allErrors: true, strict: false };
  const bodyAjv = addFormats.default(new Ajv({ ...common, coerceTypes: false })).addFormat('uuid', UUID_PATTERN);
  const stringsAjv = addFormats.default(new Ajv({ ...common, coerceTypes: 'array' })).addFormat('uuid', UUID_PATTERN);
  return ({ schema, httpPart }) => {
    const validate = (httpPart === 'body' ? bodyAjv : stringsAjv).compile(schema as object);
    const canonicalise = canonicaliserOf(schema);
    if (canonicalise === null) return validate;
    const canonicalising = (data: unknown) => {
      const valid = validate(data);
      canonicalising.errors = validate.errors;
      if (valid) canonicalise(data);
      return valid;
    };
    canonicalising.errors = validate.errors;
    return canonicalising;
  };
}
