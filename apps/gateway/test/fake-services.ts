import { OPERATIONS_BY_SERVICE, type UpstreamName } from '@shop/contracts';
import { AppError, routeSchemaOf } from '@shop/service-kit';
import type { Teardown } from '@shop/testing';
import { startFakeUpstream, type FakeUpstream } from './helper';

export interface FakeService extends FakeUpstream {
  /** `METHOD /route` of every request that matched one of the fake's routes, schema validation or not. */
  reached: string[];
}

/** A route every service has and the gateway must never reach from outside. */
export const INTERNAL_PATH = '/internal/v1/probe';

/**
 * A stand-in for one service, made from the operation table: every HTTP operation the contracts
 * declare for it, with their schemas, answering "no such resource" (enough to prove a request
 * was routed to it), and one internal route.
 */
export async function startFakeService(t: Teardown, service: UpstreamName): Promise<FakeService> {
  const reached: string[] = [];
  const fake = await startFakeUpstream(t, service, (app) => {
    app.addHook('onRequest', async (request) => {
      if (request.routeOptions.url !== undefined) reached.push(`${request.method} ${request.routeOptions.url}`);
    });
    for (const operation of Object.values(OPERATIONS_BY_SERVICE[service])) {
      if (operation.websocket) continue;
      app.route({
        method: operation.method,
        url: operation.path,
        schema: routeSchemaOf(operation),
        handler: async () => {
          throw new AppError('RESOURCE_NOT_FOUND');
        },
      });
    }
    app.get(INTERNAL_PATH, async () => ({ internal: true }));
  });
  return { ...fake, reached };
}

/** All four services, faked. */
export async function startFakeServices(t: Teardown): Promise<Record<UpstreamName, FakeService>> {
  const [auth, catalog, orders, recommendations] = await Promise.all(
    (['auth', 'catalog', 'orders', 'recommendations'] as const).map((service) => startFakeService(t, service)),
  );
  return { auth: auth!, catalog: catalog!, orders: orders!, recommendations: recommendations! };
}
