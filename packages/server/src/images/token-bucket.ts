/**
 * A token bucket: `burst` tokens, one back every `refillMs`, never more than `burst`. The budgets
 * that image sources split per client (download tracking, the Unsplash photo supply) are made of
 * these. Time comes from `now`, so a test can move it by hand.
 */
export class TokenBucket {
  private tokens: number;
  private refilledAt: number;

  constructor(
    readonly burst: number,
    readonly refillMs: number,
    private readonly now: () => number,
  ) {
    this.tokens = burst;
    this.refilledAt = now();
  }

  /** How long until a token is there: 0 when one is. */
  waitMs(): number {
    const t = this.now();
    const earned = Math.floor((t - this.refilledAt) / this.refillMs);
    if (earned > 0) {
      this.tokens = Math.min(this.burst, this.tokens + earned);
      this.refilledAt = this.tokens === this.burst ? t : this.refilledAt + earned * this.refillMs;
    }
    return this.tokens > 0 ? 0 : this.refilledAt + this.refillMs - t;
  }

  /** Spends a token; call only when `waitMs()` has just said one is there. */
  take(): void {
    this.tokens -= 1;
  }

  /** Returns a token taken for something that did not happen after all. */
  giveBack(): void {
    this.tokens = Math.min(this.burst, this.tokens + 1);
  }
}
