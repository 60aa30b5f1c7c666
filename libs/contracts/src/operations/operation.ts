import { Type, type TObject, type TSchema } from '@sinclair/typebox';
import type { Scope } from '../auth';
import { ProblemSchema } from '../problem';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
/** Who serves an operation: a service behind the gateway, or the gateway itself (health, docs). */
export type ServiceName = 'auth' | 'catalog' | 'orders' | 'recommendations' | 'gateway';
export type UpstreamName = Exclude<ServiceName, 'gateway'>;

/**
 * Who may call an operation. Credentials that are sent are verified everywhere, so a bad token is
 * refused even where anyone is welcome.
 * - `anyone`: no credentials needed.
 * - `signed-in`: a valid access token (or API key) with every scope in `scopes`. `apiKeys` says
 *   what an API key (which is not a user and has nothing of its own) needs on top: nothing more
 *   (`like-users`), `refused` (only a signed-in user), or further scopes.
 */
export type OperationAccess =
  | { readonly caller: 'anyone' }
  | { readonly caller: 'signed-in'; readonly scopes: readonly Scope[]; readonly apiKeys: 'like-users' | 'refused' | { readonly scopes: readonly Scope[] } };

export const Access = {
  anyone: { caller: 'anyone' },
  signedIn: { caller: 'signed-in', scopes: [], apiKeys: 'like-users' },
  scopes: (...scopes: Scope[]): OperationAccess => ({ caller: 'signed-in', scopes, apiKeys: 'like-users' }),
  usersOnly: { caller: 'signed-in', scopes: [], apiKeys: 'refused' },
  usersOrKeysWith: (...scopes: Scope[]): OperationAccess => ({ caller: 'signed-in', scopes: [], apiKeys: { scopes } }),
} as const satisfies Record<string, OperationAccess | ((...scopes: Scope[]) => OperationAccess)>;

/** `login`: the stricter per-address limit of login and registration; `none`: probes that must always answer. */
export type RateLimitClass = 'default' | 'login' | 'none';
/** `long` for operations that legitimately wait (`Prefer: wait=N` on order creation). */
export type TimeoutClass = 'default' | 'long';
/**
 * When the gateway may send a request again after a connection failure: always for methods that
 * are idempotent by definition; for the others only when the client sent an `Idempotency-Key`.
 */
export type RetryClass = 'idempotent' | 'with-idempotency-key';

/** The TypeBox schemas of a request's parts and of every answer, keyed by status (problems and bodiless 204/304 included). */
export interface OperationSchema {
  readonly params?: TObject;
  readonly querystring?: TObject;
  readonly headers?: TObject;
  readonly body?: TSchema;
  readonly response: Readonly<Record<number, TSchema>>;
}

/** One public operation as declared in `operations/<service>.ts`; see `PublicOperation` for the defaults. */
export interface OperationSpec<S extends OperationSchema = OperationSchema> {
  readonly method: HttpMethod;
  /** Fastify syntax (`/v1/products/:id`); the OpenAPI path is derived from it. */
  readonly path: string;
  readonly tags: readonly string[];
  readonly summary: string;
  readonly description?: string;
  readonly access: OperationAccess;
  readonly rateLimit?: RateLimitClass;
  readonly timeout?: TimeoutClass;
  readonly retry?: RetryClass;
  /** Served as a WebSocket; the token may also come as the `access_token` query parameter. */
  readonly websocket?: boolean;
  /** The body may be left out; it is then taken as `{}`, so that the schema still refuses any field sent. */
  readonly bodyOptional?: boolean;
  readonly schema: S;
}

export interface PublicOperation<Id extends string = string, S extends OperationSchema = OperationSchema, Service extends ServiceName = ServiceName>
  extends Required<Omit<OperationSpec<S>, 'description'>> {
  /** Stable and unique across the API: the OpenAPI operationId, and the key of its handler in the service. */
  readonly operationId: Id;
  readonly service: Service;
  readonly description: string | undefined;
}

type Operations<Specs extends Record<string, OperationSpec>, Service extends ServiceName> = {
  readonly [Id in keyof Specs & string]: PublicOperation<Id, Specs[Id]['schema'], Service>;
};

const IDEMPOTENT_METHODS: ReadonlySet<HttpMethod> = new Set(['GET', 'PUT', 'DELETE']);

/** A service's operations, keyed by operationId, with the defaults filled in. */
export function defineOperations<Service extends ServiceName, const Specs extends Record<string, OperationSpec>>(service: Service, specs: Specs): Operations<Specs, Service> {
  return Object.fromEntries(
    Object.entries(specs).map(([operationId, spec]) => [
      operationId,
      {
        operationId,
        service,
        rateLimit: 'default',
        timeout: 'default',
        retry: IDEMPOTENT_METHODS.has(spec.method) ? 'idempotent' : 'with-idempotency-key',
        websocket: false,
        bodyOptional: false,
        ...spec,
        description: spec.description,
      } satisfies PublicOperation,
    ]),
  ) as Operations<Specs, Service>;
}

/** A problem answer with its own description in the document (the body is the usual `Problem`). */
export function problemResponse(description: string) {
  return Type.Object(ProblemSchema.properties, { additionalProperties: true, description });
}

/** An answer without a body (204, 304, 101). */
export function noContent(description: string) {
  return Type.Null({ description });
}
