import { randomBytes } from 'node:crypto';
import { dropDatabase, ensureDatabase } from '@shop/db';

export interface Teardown {
  teardown(fn: () => unknown): void;
}

/** A server where tests may create databases; every test file gets a fresh one of its own. */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const TEST_REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export function uniqueName(label: string): string {
  const slug = label.toLowerCase().replace(/[^a-z0-9]+/g, '_').slice(0, 30);
  return `test_${slug}_${randomBytes(4).toString('hex')}`;
}

/** Creates an empty database for this test file; `drop` removes it, closing what still holds it. */
export async function createTestDatabase(label: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${uniqueName(label)}`;
  const databaseUrl = url.toString();
  await ensureDatabase(databaseUrl);
  return { url: databaseUrl, drop: () => dropDatabase(databaseUrl) };
}
