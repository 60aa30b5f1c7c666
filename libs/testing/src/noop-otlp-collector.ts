import { createServer } from 'node:http';

export interface NoopOtlpCollector {
  /** For `OTEL_EXPORTER_OTLP_ENDPOINT`: the exporter posts to `<url>/v1/traces`. */
  url: string;
  /** Export requests and bytes received so far: proof that spans were exported at all. */
  received(): { requests: number; bytes: number };
  close(): Promise<void>;
}

/**
 * An OTLP/HTTP endpoint that accepts every export and keeps nothing, for measuring what tracing
 * costs the traced process (spans made, batched, serialised and sent) without a collector's own
 * work in the picture. An empty 200 is a valid (empty) ExportTraceServiceResponse.
 */
export async function startNoopOtlpCollector(): Promise<NoopOtlpCollector> {
  let requests = 0;
  let bytes = 0;
  const server = createServer((request, response) => {
    request.on('data', (chunk: Buffer) => (bytes += chunk.length));
    request.on('end', () => {
      requests += 1;
      response.writeHead(200, { 'content-type': request.headers['content-type'] ?? 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    received: () => ({ requests, bytes }),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
