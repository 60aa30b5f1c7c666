import './typebox-formats';
import { EventEnvelopeSchema, EventPayloadSchemas, isEventType, type AnyEventEnvelope, type EventType } from '@shop/contracts';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import type { TSchema } from '@sinclair/typebox';

const envelopeCheck = TypeCompiler.Compile(EventEnvelopeSchema);
const payloadChecks = new Map<EventType, TypeCheck<TSchema>>(
  Object.entries(EventPayloadSchemas).map(([type, schema]) => [type as EventType, TypeCompiler.Compile(schema)]),
);

export type EventCheck = { ok: true; event: AnyEventEnvelope } | { ok: false; reason: 'invalid_envelope' | 'unknown_type' | 'invalid_payload'; detail: string };

function describe(check: TypeCheck<TSchema>, value: unknown): string {
  return [...check.Errors(value)]
    .slice(0, 5)
    .map((error) => `${error.path || '/'}: ${error.message}`)
    .join('; ');
}

/** The payload problems of an event of this type, or undefined when it is valid. */
export function payloadProblems(type: EventType, payload: unknown): string | undefined {
  const check = payloadChecks.get(type)!;
  return check.Check(payload) ? undefined : describe(check, payload);
}

/**
 * Checks an event read from a stream against the contracts. Extra fields pass (tolerant reader);
 * a type this build does not know cannot be checked, and is reported as such.
 */
export function checkEvent(value: unknown): EventCheck {
  if (!envelopeCheck.Check(value)) return { ok: false, reason: 'invalid_envelope', detail: describe(envelopeCheck, value) };
  if (!isEventType(value.type)) return { ok: false, reason: 'unknown_type', detail: `no schema for ${value.type}` };
  const problems = payloadProblems(value.type, value.payload);
  if (problems !== undefined) return { ok: false, reason: 'invalid_payload', detail: problems };
  return { ok: true, event: value as AnyEventEnvelope };
}
