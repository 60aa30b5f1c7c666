import type { PublicRoute, UpstreamName } from '../routes/route-table';
import type { Upstream } from '../upstream/upstream';
import { assembleOpenApi, type OpenApiDocument } from './assemble-openapi';

export interface OpenApiSourceOptions {
  upstreams: Record<UpstreamName, Upstream>;
  routes: readonly PublicRoute[];
  version: string;
  /** How long an assembled document is served before the services are asked again. */
  cacheMs: number;
  fetchTimeoutMs: number;
  now?: () => number;
}

/** While a service has never answered, ask again this soon rather than after the whole cache time. */
const MISSING_RETRY_MS = 2_000;

/**
 * The public OpenAPI document, assembled from the services' own `/docs/openapi.json` on demand
 * and cached. The last good document of each service is kept, so a service that is down
 * does not take its operations' descriptions away; concurrent requests share one refresh.
 */
export class OpenApiSource {
  private readonly lastGood: Partial<Record<UpstreamName, OpenApiDocument>> = {};
  private document: OpenApiDocument;
  private assembledAt = Number.NEGATIVE_INFINITY;
  private refreshing: Promise<OpenApiDocument> | null = null;
  private readonly now: () => number;

  constructor(private readonly options: OpenApiSourceOptions) {
    this.now = options.now ?? Date.now;
    this.document = this.assemble();
  }

  /** The latest assembled document without waiting (Swagger UI's synchronous hook). */
  get snapshot(): OpenApiDocument {
    return this.document;
  }

  async current(): Promise<OpenApiDocument> {
    const age = this.now() - this.assembledAt;
    const missing = (Object.keys(this.options.upstreams) as UpstreamName[]).some((name) => this.lastGood[name] === undefined);
    if (age < this.options.cacheMs && !(missing && age >= MISSING_RETRY_MS)) return this.document;
    this.refreshing ??= this.refresh().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  private async refresh(): Promise<OpenApiDocument> {
    await Promise.all(
      Object.entries(this.options.upstreams).map(async ([name, upstream]) => {
        const fetched = await upstream.fetchJson('/docs/openapi.json', this.options.fetchTimeoutMs);
        if (isOpenApiDocument(fetched)) this.lastGood[name as UpstreamName] = fetched;
      }),
    );
    this.document = this.assemble();
    this.assembledAt = this.now();
    return this.document;
  }

  private assemble(): OpenApiDocument {
    return assembleOpenApi({ routes: this.options.routes, upstreamDocuments: this.lastGood, version: this.options.version });
  }
}

function isOpenApiDocument(value: unknown): value is OpenApiDocument {
  if (value === null || typeof value !== 'object') return false;
  const candidate = value as Partial<OpenApiDocument>;
  return typeof candidate.openapi === 'string' && candidate.openapi.startsWith('3.') && candidate.paths !== null && typeof candidate.paths === 'object';
}
