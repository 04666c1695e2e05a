/** How old a count may be before a create asks for a fresh one (in the background). */
const REFRESH_AFTER_MS = 1_000;

/**
 * A count read from the store (on PostgreSQL a query, so not read per create): kept, and read again
 * in the background once older than a second. Creates admitted but not yet finished are not in the
 * store's count: a cap adds them (`inFlight`), so a refresh in the middle of a burst cannot forget
 * them, and creates in flight together (group commit puts hundreds behind one fsync) cannot pass it.
 */
export class StoreCount {
  /** As last read, plus the creates that finished since. */
  value = 0;
  /** Creates admitted and not yet finished. */
  inFlight = 0;
  private countedAt = Number.NEGATIVE_INFINITY;
  private refreshing: Promise<void> | null = null;

  constructor(private readonly read: () => Promise<number>) {}

  /** Reads the count now; call once before serving, so the first creates are judged on a real count. */
  refresh(): Promise<void> {
    this.refreshing ??= (async () => {
      const startedAt = Date.now();
      try {
        this.value = await this.read();
        this.countedAt = startedAt;
      } catch {
        // The store is away: the create itself will say so; keep judging on the last count.
      } finally {
        this.refreshing = null;
      }
    })();
    return this.refreshing;
  }

  /** The count with the creates in flight, after asking for a fresh one when this one is old. */
  current(): number {
    if (Date.now() - this.countedAt > REFRESH_AFTER_MS) void this.refresh();
    return this.value + this.inFlight;
  }

  /** Runs `create` counted as in flight; a job it made counts from then on. */
  async counting<T extends { created: boolean }>(create: () => Promise<T>): Promise<T> {
    this.inFlight += 1;
    try {
      const outcome = await create();
      if (outcome.created) this.value += 1;
      return outcome;
    } finally {
      this.inFlight -= 1;
    }
  }
}
