import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import type { Teardown } from './test-database';
import { waitFor } from './wait-for';

export interface PrivateRedis {
  url: string;
  /** Starts it (again), empty. */
  start(): Promise<void>;
  /** Kills the process: a crash. */
  stop(): Promise<void>;
  /** SHUTDOWN NOSAVE: a clean stop that keeps nothing for its return. */
  shutdown(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * A redis-server of the test's own on a free port, without persistence, so an outage test can stop
 * it and bring it back empty without touching the shared Redis. It runs as this process's child
 * (not daemonized), so a test that fails half-way still ends it in its teardown.
 */
export async function startPrivateRedis(t: Teardown): Promise<PrivateRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const probe = () => {
    const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => undefined);
    return client;
  };
  const start = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'], { stdio: 'ignore' });
    const client = probe();
    try {
      await waitFor(`redis-server on ${port}`, () => client.connect().then(() => true, () => false), 10_000);
    } finally {
      client.disconnect();
    }
  };
  const end = async (how: (running: ChildProcess) => Promise<void>) => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    await how(running);
    await exited;
  };
  const stop = () =>
    end(async (running) => {
      running.kill('SIGKILL');
    });
  const shutdown = () =>
    end(async () => {
      const client = probe();
      await client.connect();
      await client.call('SHUTDOWN', 'NOSAVE').catch(() => undefined);
      client.disconnect();
    });
  t.teardown(stop);
  await start();
  return { url: `redis://127.0.0.1:${port}`, start, stop, shutdown };
}
