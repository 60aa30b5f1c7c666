import net from 'node:net';

/**
 * A TCP proxy in front of the real Redis, so a test can take "Redis" away and bring it back
 * (or make it hang) without touching the Redis other tests use.
 */
export class RedisProxy {
  #server: net.Server | null = null;
  readonly #sockets = new Set<net.Socket>();
  #stalled = false;

  private constructor(
    readonly port: number,
    readonly target: { host: string; port: number },
  ) {}

  static async start(targetUrl: string): Promise<RedisProxy> {
    const target = new URL(targetUrl);
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const proxy = new RedisProxy(port, { host: target.hostname, port: Number(target.port || 6379) });
    await proxy.up();
    return proxy;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async up(): Promise<void> {
    this.#stalled = false;
    if (this.#server) return;
    const server = net.createServer((client) => {
      const upstream = net.connect(this.target.port, this.target.host);
      for (const socket of [client, upstream]) {
        this.#sockets.add(socket);
        socket.on('close', () => this.#sockets.delete(socket));
        socket.on('error', () => undefined);
      }
      client.on('data', (chunk) => {
        if (!this.#stalled) upstream.write(chunk);
      });
      upstream.on('data', (chunk) => {
        if (!this.#stalled) client.write(chunk);
      });
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.#server = server;
  }

  /** Connections are cut and refused, as if Redis died. */
  async down(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    for (const socket of this.#sockets) socket.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Connections stay open but nothing answers, as if Redis hung. */
  stall(): void {
    this.#stalled = true;
  }
}
