export interface RetryBudgetOptions {
  /** Each first attempt earns this fraction of a retry. */
  ratio: number;
  /** Retries that may be spent at once, and the budget a fresh gateway starts with. */
  burst: number;
}

/**
 * Bounds retries to a fraction of the traffic, so that when an upstream struggles the gateway
 * adds at most `ratio` more load instead of multiplying it (a per-request retry limit alone
 * still doubles the load in an outage).
 */
export class RetryBudget {
  private balance: number;
  private readonly cap: number;

  constructor(private readonly options: RetryBudgetOptions) {
    this.balance = options.burst;
    // At least one whole retry must fit, or a zero burst would forbid retries for good.
    this.cap = Math.max(1, options.burst);
  }

  /** A first attempt: earns a little budget. */
  deposit(): void {
    this.balance = Math.min(this.cap, this.balance + this.options.ratio);
  }

  /** Spends one retry if the budget has one. */
  tryWithdraw(): boolean {
    if (this.balance < 1) return false;
    this.balance -= 1;
    return true;
  }
}
