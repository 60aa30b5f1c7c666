import { setTimeout as delay } from 'node:timers/promises';

/** Polls until `check` holds; a deadline, never a fixed sleep, so a slow machine only runs slower. */
export async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(25);
  }
}
