import { connect, type Socket } from 'node:net';

export interface LoadRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface KeepAliveLoadOptions {
  host?: string;
  port: number;
  /** Open connections, each sending requests back to back. */
  connections: number;
  /**
   * Requests written together on a connection (1: no pipelining); the next batch goes once all of
   * them are answered. A client that kept writing past a `Connection: close` answer would meet a
   * reset from any server (Node has no lingering close), so this one, like browsers did, does not.
   */
  pipelining?: number;
  /** The next request to send; called once per request. */
  request: (connection: number) => LoadRequest;
  /** A pause before each next batch on a connection, to hold the load at a steady pace; none by default. */
  pauseMs?: number;
  /** Once a connection is closed by the server, whether to open a new one (as a pool would). */
  reconnect?: boolean;
  /** Called with every answer, e.g. to collect the ids of created resources. */
  onResponse?: (response: LoadResponse, request: LoadRequest) => void;
}

export interface LoadResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface LoadReport {
  /** Answers by status code. */
  statuses: Record<number, number>;
  /** Requests written before `mark()` was called, and how many of them got an answer. */
  sentBeforeMark: number;
  answeredBeforeMark: number;
  /** Connection resets (ECONNRESET, EPIPE) on established connections: the defect the suite hunts. */
  resets: number;
  /** Connections that ended with requests outstanding although no answer had said `Connection: close`. */
  droppedWithoutClose: number;
  /** Requests left unanswered after an answer with `Connection: close` (pipelined past it; the client may retry them). */
  unansweredAfterClose: number;
  /** New connections refused (the server stopped listening): the client knows nothing was sent. */
  refused: number;
  errors: string[];
}

export interface KeepAliveLoad {
  /** Remembers which requests were written so far (e.g. just before a signal). */
  mark(): void;
  /** Stops sending, waits for the answers in flight, closes the connections and reports. */
  stop(): Promise<LoadReport>;
}

interface Outstanding {
  request: LoadRequest;
  beforeMark: boolean;
}

/**
 * HTTP/1.1 load over raw sockets, so that what a server does to a connection is seen exactly: an
 * answer, a clean close after `Connection: close`, a close with requests outstanding, or a reset.
 * Clients such as undici retry or hide some of these; this one counts them.
 */
export function startKeepAliveLoad(options: KeepAliveLoadOptions): KeepAliveLoad {
  const host = options.host ?? '127.0.0.1';
  const depth = options.pipelining ?? 1;
  const report: LoadReport = {
    statuses: {},
    sentBeforeMark: 0,
    answeredBeforeMark: 0,
    resets: 0,
    droppedWithoutClose: 0,
    unansweredAfterClose: 0,
    refused: 0,
    errors: [],
  };
  let marked = false;
  let stopping = false;
  const running = new Set<Promise<void>>();

  const runConnection = (index: number): Promise<void> =>
    new Promise<void>((resolve) => {
      const socket: Socket = connect({ host, port: options.port });
      socket.setNoDelay(true);
      const outstanding: Outstanding[] = [];
      let buffer = Buffer.alloc(0);
      let connected = false;
      let closeAnnounced = false;
      let finished = false;

      const finish = (reopen: boolean) => {
        if (finished) return;
        finished = true;
        socket.destroy();
        if (reopen && !stopping && options.reconnect) {
          const next = runConnection(index);
          running.add(next);
          void next.finally(() => running.delete(next));
        }
        resolve();
      };
      const send = () => {
        if (finished) return;
        if (!stopping && !closeAnnounced && outstanding.length === 0) {
          const batch: string[] = [];
          for (let written = 0; written < depth; written += 1) {
            const request = options.request(index);
            outstanding.push({ request, beforeMark: !marked });
            if (!marked) report.sentBeforeMark += 1;
            batch.push(serialise(request, host, options.port));
          }
          // One write, one segment: a pipelining client sends its batch together.
          socket.write(batch.join(''));
        }
        if (stopping && outstanding.length === 0) finish(false);
      };

      socket.on('connect', () => {
        connected = true;
        send();
      });
      socket.on('data', (chunk: Buffer) => {
        buffer = Buffer.concat([buffer, chunk]);
        for (;;) {
          const parsed = parseResponse(buffer);
          if (!parsed) break;
          buffer = buffer.subarray(parsed.length);
          const answered = outstanding.shift();
          if (!answered) {
            report.errors.push('an answer nobody asked for');
            continue;
          }
          report.statuses[parsed.response.status] = (report.statuses[parsed.response.status] ?? 0) + 1;
          if (answered.beforeMark) report.answeredBeforeMark += 1;
          options.onResponse?.(parsed.response, answered.request);
          if (parsed.response.headers.connection?.toLowerCase() === 'close') {
            closeAnnounced = true;
            report.unansweredAfterClose += outstanding.length;
            outstanding.length = 0;
          }
        }
        if (closeAnnounced) finish(true);
        else if (options.pauseMs && outstanding.length === 0) setTimeout(send, options.pauseMs);
        else send();
      });
      socket.on('error', (error: NodeJS.ErrnoException) => {
        if (!connected && error.code === 'ECONNREFUSED') report.refused += 1;
        else if (error.code === 'ECONNRESET' || error.code === 'EPIPE') report.resets += 1;
        else report.errors.push(`${error.code ?? ''} ${error.message}`);
        if (connected && outstanding.length > 0 && error.code !== 'ECONNRESET' && error.code !== 'EPIPE') report.droppedWithoutClose += 1;
        // A refused connection is retried after a pause, as a pool would, while the load lasts.
        if (!connected) setTimeout(() => finish(true), 20);
        else finish(true);
      });
      socket.on('end', () => {
        if (outstanding.length > 0 && !closeAnnounced) report.droppedWithoutClose += 1;
        finish(true);
      });
    });

  for (let index = 0; index < options.connections; index += 1) {
    const connection = runConnection(index);
    running.add(connection);
    void connection.finally(() => running.delete(connection));
  }

  return {
    mark: () => {
      marked = true;
    },
    stop: async () => {
      stopping = true;
      const deadline = Date.now() + 15_000;
      while (running.size > 0 && Date.now() < deadline) await Promise.race([...running, new Promise((r) => setTimeout(r, 100))]);
      return report;
    },
  };
}

function serialise(request: LoadRequest, host: string, port: number): string {
  const body = request.body ?? '';
  const headers: Record<string, string> = { host: `${host}:${port}`, connection: 'keep-alive', ...request.headers };
  if (body || request.method === 'POST' || request.method === 'PUT' || request.method === 'PATCH') headers['content-length'] = String(Buffer.byteLength(body));
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}`);
  return `${request.method} ${request.path} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n${body}`;
}

/** One HTTP/1.1 answer from the front of `buffer`, or undefined while it is incomplete. */
function parseResponse(buffer: Buffer): { response: LoadResponse; length: number } | undefined {
  const headerEnd = buffer.indexOf('\r\n\r\n');
  if (headerEnd < 0) return undefined;
  const [statusLine = '', ...lines] = buffer.subarray(0, headerEnd).toString('latin1').split('\r\n');
  const status = Number(statusLine.split(' ')[1]);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const start = headerEnd + 4;
  if (status === 304 || status === 204 || (status >= 100 && status < 200)) return { response: { status, headers, body: '' }, length: start };
  if (headers['transfer-encoding']?.toLowerCase() === 'chunked') {
    let offset = start;
    const parts: Buffer[] = [];
    for (;;) {
      const lineEnd = buffer.indexOf('\r\n', offset);
      if (lineEnd < 0) return undefined;
      const size = parseInt(buffer.subarray(offset, lineEnd).toString('latin1'), 16);
      if (buffer.length < lineEnd + 2 + size + 2) return undefined;
      if (size === 0) return { response: { status, headers, body: Buffer.concat(parts).toString('utf8') }, length: lineEnd + 4 };
      parts.push(buffer.subarray(lineEnd + 2, lineEnd + 2 + size));
      offset = lineEnd + 2 + size + 2;
    }
  }
  const length = Number(headers['content-length'] ?? 0);
  if (buffer.length < start + length) return undefined;
  return { response: { status, headers, body: buffer.subarray(start, start + length).toString('utf8') }, length: start + length };
}
