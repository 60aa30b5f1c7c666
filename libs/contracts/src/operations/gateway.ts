// The gateway's own public operations: its probes and this API's document.
import { Type } from '@sinclair/typebox';
import { Access, defineOperations, problemResponse } from './operation';

export const GATEWAY_OPERATIONS = defineOperations('gateway', {
  gatewayHealth: {
    method: 'GET',
    path: '/health',
    tags: ['gateway'],
    summary: 'The gateway process is alive',
    access: Access.anyone,
    rateLimit: 'none',
    schema: {
      response: {
        200: Type.Object({ status: Type.Literal('ok') }, { description: 'Alive' }),
        503: problemResponse('The gateway is shutting down'),
      },
    },
  },
  gatewayReadiness: {
    method: 'GET',
    path: '/health/ready',
    tags: ['gateway'],
    summary: 'Every upstream service (and Redis) is ready',
    description: "Asks each service's own readiness; a 503 names the ones that are not ready.",
    access: Access.anyone,
    rateLimit: 'none',
    schema: {
      response: {
        200: Type.Object({ status: Type.Literal('ready'), checks: Type.Record(Type.String(), Type.Literal('ok')) }, { description: 'Ready' }),
        503: problemResponse('Not ready; `detail` names what is not'),
      },
    },
  },
  getOpenApiDocument: {
    method: 'GET',
    path: '/docs/openapi.json',
    tags: ['gateway'],
    summary: 'This document',
    description: 'Built from the one declaration of every public operation in the contracts. Swagger UI shows it at `/docs`.',
    access: Access.anyone,
    schema: { response: { 200: Type.Object({}, { additionalProperties: true, description: 'An OpenAPI 3.1 document' }) } },
  },
});
