import { connect, type Socket } from 'node:net';

/** One answer as it came off the wire. */
export interface RawResponse {
  status: number;
  /** Header names in lower case; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** Raw header lines, for checks on repetition and order. */
  headerLines: string[];
  body: Buffer;
}

export interface RawRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

/**
 * A keep-alive HTTP/1.1 connection driven by hand: requests are written as bytes and answers are
 * read by the RFC 9112 framing rules, so bytes a server sends where none may be (a body on a 304,
 * a 204 or a HEAD answer) are left over and break the next answer, as they would for any client
 * that reuses the connection. `fetch` hides exactly that, so framing is checked here.
 */
export class RawConnection {
  private buffer = Buffer.alloc(0);
  private closed = false;
  private waiter: (() => void) | undefined;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  static async open(baseUrl: string): Promise<RawConnection> {
    const url = new URL(baseUrl);
    const socket = connect({ host: url.hostname, port: Number(url.port || 80) });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawConnection(socket);
  }

  /** Sends one request and reads exactly one answer, framed as RFC 9112 §6.3 says. */
  async request(request: RawRequest, timeoutMs = 10_000): Promise<RawResponse> {
    const body = request.body === undefined ? undefined : Buffer.from(request.body);
    const headers: Record<string, string> = { host: 'localhost', ...request.headers };
    if (body !== undefined) headers['content-length'] = String(body.length);
    const head = [`${request.method} ${request.path} HTTP/1.1`, ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`), '', ''].join('\r\n');
    this.socket.write(body === undefined ? head : Buffer.concat([Buffer.from(head), body]));
    return this.readResponse(request.method, timeoutMs);
  }

  /** Bytes that arrived after the last complete answer (waits briefly for stragglers). */
  async leftover(waitMs = 100): Promise<Buffer> {
    await new Promise((resolve) => setTimeout(resolve, waitMs));
    return this.buffer;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  close(): void {
    this.socket.destroy();
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }

  private async more(deadline: number): Promise<void> {
    if (this.closed) throw new Error(`the connection closed; unread: ${JSON.stringify(this.buffer.toString('latin1').slice(0, 200))}`);
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw new Error(`no complete answer in time; received: ${JSON.stringify(this.buffer.toString('latin1').slice(0, 200))}`);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, remaining);
      this.waiter = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private take(length: number): Buffer {
    const taken = this.buffer.subarray(0, length);
    this.buffer = this.buffer.subarray(length);
    return taken;
  }

  private async readResponse(method: string, timeoutMs: number): Promise<RawResponse> {
    const deadline = Date.now() + timeoutMs;
    let end: number;
    while ((end = this.buffer.indexOf('\r\n\r\n')) < 0) await this.more(deadline);
    const lines = this.take(end + 4).toString('latin1').split('\r\n').slice(0, -2);
    const statusLine = lines.shift() ?? '';
    const match = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(statusLine);
    if (!match) throw new Error(`not an HTTP status line: ${JSON.stringify(statusLine.slice(0, 200))}`);
    const status = Number(match[1]);
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
    }
    // RFC 9112 §6.3: these answers end at their header section, whatever the headers claim.
    if (method === 'HEAD' || status === 204 || status === 304 || (status >= 100 && status < 200)) {
      return { status, headers, headerLines: lines, body: Buffer.alloc(0) };
    }
    if (/\bchunked\b/i.test(headers['transfer-encoding'] ?? '')) {
      const chunks: Buffer[] = [];
      for (;;) {
        let lineEnd: number;
        while ((lineEnd = this.buffer.indexOf('\r\n')) < 0) await this.more(deadline);
        const size = parseInt(this.take(lineEnd + 2).toString('latin1'), 16);
        if (Number.isNaN(size)) throw new Error('a chunk size that is not hexadecimal');
        if (size === 0) {
          // Trailers (none expected) end with an empty line.
          while (this.buffer.indexOf('\r\n') < 0) await this.more(deadline);
          this.take(this.buffer.indexOf('\r\n') + 2);
          break;
        }
        while (this.buffer.length < size + 2) await this.more(deadline);
        chunks.push(this.take(size));
        this.take(2);
      }
      return { status, headers, headerLines: lines, body: Buffer.concat(chunks) };
    }
    if (headers['content-length'] !== undefined) {
      const length = Number(headers['content-length']);
      while (this.buffer.length < length) await this.more(deadline);
      return { status, headers, headerLines: lines, body: this.take(length) };
    }
    // Delimited by the end of the connection.
    while (!this.closed) await this.more(deadline);
    return { status, headers, headerLines: lines, body: this.take(this.buffer.length) };
  }
}
