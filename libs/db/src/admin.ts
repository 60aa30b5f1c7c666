import pg from 'pg';

/** Creates the database named in `url` when it does not exist (dev and test set-up, never prod). */
export async function ensureDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (exists.rowCount === 0) await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  } catch (error) {
    // Another process (a parallel test, a second replica) created it between the check and ours.
    if (!createdConcurrently(error)) throw error;
  } finally {
    await client.end();
  }
}

function createdConcurrently(error: unknown): boolean {
  const { code, constraint } = (error ?? {}) as { code?: string; constraint?: string };
  return code === '42P04' || (code === '23505' && constraint === 'pg_database_datname_index');
}

/** Drops a database, closing whatever still holds it open. */
export async function dropDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  target.pathname = '/postgres';
  const client = new pg.Client({ connectionString: target.toString() });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

/**
 * Resolves once the server in `url` accepts a connection to its database, retrying while it is not
 * there yet (refused, unknown host, starting up or shutting down), so a migration started beside its
 * database (compose, an init container) waits for it instead of failing. Any other error (a wrong
 * password, a missing database) is thrown at once; so is the last one when `timeoutMs` runs out.
 */
export async function waitForDatabase(url: string, options: { timeoutMs?: number; intervalMs?: number; onWait?: (error: Error) => void } = {}): Promise<void> {
  const { timeoutMs = 60_000, intervalMs = 250, onWait } = options;
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: Math.max(1_000, Math.min(5_000, deadline - Date.now())) });
    client.on('error', () => undefined); // a connection lost while probing is reported by connect/query
    try {
      await client.connect();
      await client.query('SELECT 1');
      return;
    } catch (error) {
      if (!notThereYet(error) || Date.now() + intervalMs > deadline) throw error;
      if (attempt === 0) onWait?.(error as Error);
    } finally {
      await client.end().catch(() => undefined);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

const NOT_THERE_YET = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH']);

function notThereYet(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: string; message?: string };
  // 57P03: the server is starting up or shutting down; class 08: the connection itself failed.
  if (code === '57P03' || code?.startsWith('08')) return true;
  if (code !== undefined && NOT_THERE_YET.has(code)) return true;
  // pg reports its own connection timeout and an early close without a code.
  return /timeout expired|Connection terminated/i.test(message ?? '');
}
