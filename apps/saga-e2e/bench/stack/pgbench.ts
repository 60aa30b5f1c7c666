import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface PgbenchOptions {
  /** postgres://user@host:port (no database): the server the services use. */
  serverUrl: string;
  database: string;
  scale: number;
  clients: number;
  seconds: number;
}

/**
 * TPC-B (pgbench's built-in script) on a database of its own on the same server: what this
 * PostgreSQL, on this machine, commits per second when it does nothing else. pgbench ships with
 * the PostgreSQL client tools (`apt-get install postgresql-client`).
 */
export async function pgbenchTps(options: PgbenchOptions): Promise<number> {
  const server = new URL(options.serverUrl);
  const connection = ['-h', server.hostname, '-p', server.port || '5432', '-U', decodeURIComponent(server.username || 'postgres')];
  const tool = async (command: string, args: string[]) => {
    try {
      return await run(command, args, { maxBuffer: 16 * 1024 * 1024 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`${command} not found: install the PostgreSQL client tools (apt-get install postgresql-client)`);
      throw error;
    }
  };
  await tool('dropdb', [...connection, '--if-exists', options.database]);
  await tool('createdb', [...connection, options.database]);
  try {
    await tool('pgbench', [...connection, '-i', '-q', '-s', String(options.scale), options.database]);
    const { stdout } = await tool('pgbench', [...connection, '-c', String(options.clients), '-j', '2', '-T', String(options.seconds), options.database]);
    const match = /tps = ([\d.]+) \(without initial connection time\)/.exec(stdout);
    if (!match) throw new Error(`no tps in pgbench's output:\n${stdout}`);
    return Number(match[1]);
  } finally {
    await tool('dropdb', [...connection, '--if-exists', options.database]);
  }
}
