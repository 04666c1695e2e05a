/**
 * A token bucket: `burst` tokens, one back every `refillMs`, never more than `burst`. The budgets
 * that image sources split per client (download tracking, the Unsplash photo supply) are made of
 * these. Time comes from `now`, so a test can move it by hand.
 */
export class TokenBucket {
  private tokens: number;
  private refilledAt: number;

  constructor(
    private burstSize: number,
    private refillEveryMs: number,
    private readonly now: () => number,
  ) {
    this.tokens = burstSize;
    this.refilledAt = now();
  }

  get burst(): number {
    return this.burstSize;
  }

  /** How long until a token is there: 0 when one is. */
  waitMs(): number {
    const t = this.now();
    const earned = Math.floor((t - this.refilledAt) / this.refillEveryMs);
    if (earned > 0) {
      this.tokens = Math.min(this.burstSize, this.tokens + earned);
      this.refilledAt = this.tokens === this.burstSize ? t : this.refilledAt + earned * this.refillEveryMs;
    }
    return this.tokens > 0 ? 0 : this.refilledAt + this.refillEveryMs - t;
  }

  /** Spends a token; call only when `waitMs()` has just said one is there. */
  take(): void {
    this.tokens -= 1;
  }

  /** Returns a token taken for something that did not happen after all. */
  giveBack(): void {
    this.tokens = Math.min(this.burstSize, this.tokens + 1);
  }

  /** A new size and rate; the tokens spent (and not yet back) stay spent. */
  resize(burst: number, refillMs: number): void {
    this.waitMs();
    const spent = this.burstSize - this.tokens;
    this.burstSize = burst;
    this.refillEveryMs = refillMs;
    this.tokens = Math.max(0, burst - spent);
  }
}
