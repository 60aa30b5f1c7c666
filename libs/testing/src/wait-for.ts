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

/**
 * Resolves to the first value `check` gives that is not undefined, for a test that goes on to use
 * what it waited for; throws at the deadline, since there is then nothing to hand back.
 */
export async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`no value within ${timeoutMs} ms`);
    await delay(25);
  }
}

/**
 * Probes until `done` accepts the value (by default, until it is truthy) and returns the last value
 * probed even when the deadline passes first: the assertion after it then fails showing what was
 * seen, rather than a bare timeout.
 */
export async function probeUntil<T>(probe: () => Promise<T> | T, done: (value: T) => boolean = Boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value) || Date.now() > deadline) return value;
    await delay(25);
  }
}
