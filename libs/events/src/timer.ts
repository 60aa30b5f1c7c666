/**
 * A sleep that can be cut short: `wake()` ends the current (or the next) sleep at once, so a loop
 * that polls can still react within a tick to news, and to being stopped.
 */
export class Timer {
  #finish: (() => void) | undefined;
  #woken = false;

  sleep(ms: number): Promise<void> {
    if (this.#woken) {
      this.#woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timeout = setTimeout(() => finish(), ms);
      const finish = () => {
        clearTimeout(timeout);
        this.#finish = undefined;
        resolve();
      };
      this.#finish = finish;
    });
  }

  wake(): void {
    if (this.#finish) this.#finish();
    else this.#woken = true;
  }
}

/** Exponential backoff with jitter, so replicas that failed together do not retry in step. */
export class Backoff {
  #attempt = 0;

  constructor(
    private readonly initialMs: number,
    private readonly maxMs: number,
  ) {}

  get failures(): number {
    return this.#attempt;
  }

  next(): number {
    const ceiling = Math.min(this.maxMs, this.initialMs * 2 ** this.#attempt);
    this.#attempt += 1;
    return Math.max(this.initialMs, Math.round(ceiling / 2 + (Math.random() * ceiling) / 2));
  }

  reset(): void {
    this.#attempt = 0;
  }
}
