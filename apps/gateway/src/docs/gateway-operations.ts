import { PROBLEM_CONTENT_TYPE } from '@shop/contracts';
import type { JsonObject } from './assemble-openapi';

const problem = (description: string) => ({
  description,
  content: { [PROBLEM_CONTENT_TYPE]: { schema: { $ref: '#/components/schemas/Problem' } } },
});

/** The gateway's own routes, as they appear in the public document. */
export const GATEWAY_OPERATIONS: { method: string; path: string; operation: JsonObject }[] = [
  {
    method: 'get',
    path: '/health',
    operation: {
      operationId: 'gatewayHealth',
      summary: 'The gateway process is alive',
      tags: ['gateway'],
      security: [],
      responses: {
        '200': {
          description: 'Alive',
          content: { 'application/json': { schema: { type: 'object', required: ['status'], properties: { status: { type: 'string', const: 'ok' } } } } },
        },
        '503': problem('The gateway is shutting down'),
      },
    },
  },
  {
    method: 'get',
    path: '/health/ready',
    operation: {
      operationId: 'gatewayReadiness',
      summary: 'Every upstream service (and Redis) is ready',
      description: "Asks each service's own readiness; a 503 names the ones that are not ready.",
      tags: ['gateway'],
      security: [],
      responses: {
        '200': {
          description: 'Ready',
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['status', 'checks'],
                properties: {
                  status: { type: 'string', const: 'ready' },
                  checks: { type: 'object', additionalProperties: { type: 'string', const: 'ok' } },
                },
              },
            },
          },
        },
        '503': problem('Not ready; `detail` names what is not'),
      },
    },
  },
  {
    method: 'get',
    path: '/docs/openapi.json',
    operation: {
      operationId: 'getOpenApiDocument',
      summary: 'This document',
      description: 'Assembled from the services\' own documents, filtered to the public routes. Swagger UI shows it at `/docs`.',
      tags: ['gateway'],
      security: [],
      responses: {
        '200': { description: 'An OpenAPI 3.1 document', content: { 'application/json': { schema: { type: 'object' } } } },
        '429': { $ref: '#/components/responses/RateLimited' },
      },
    },
  },
];

/** The orders service cannot describe its WebSocket (OpenAPI has no such thing), so the gateway does. */
export const ORDER_EVENTS_OPERATION: JsonObject = {
  summary: 'Live updates of your orders (WebSocket)',
  description:
    'Open as a WebSocket (`Upgrade: websocket`). Authenticate with `Authorization: Bearer <token>` or, where a client cannot set headers ' +
    '(browsers), the `access_token` query parameter. The server then sends one JSON text message `{"type": "order.updated", "order": Order}` ' +
    'each time one of your orders changes. A plain HTTP request gets 426. At most 5 sockets per user and 20 per client address ' +
    '(configurable): one more gets 429 `GATEWAY_TOO_MANY_SOCKETS`. The server closes the socket with 4001 when the token expires or is ' +
    'revoked (signed out, or your rights changed: reconnect with a fresh token), and with 4003 when the account is disabled.',
  tags: ['orders'],
  parameters: [
    {
      name: 'access_token',
      in: 'query',
      required: false,
      description: 'The access token, for clients that cannot send an Authorization header',
      schema: { type: 'string' },
    },
  ],
  responses: {
    '101': { description: 'Switching Protocols: the WebSocket is open' },
    '403': problem('The account is disabled, or an API key (it has no orders of its own)'),
    '426': problem('Not a WebSocket upgrade request'),
    '429': problem('Too many open WebSockets for this user or address'),
  },
};
