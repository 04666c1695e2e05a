import type { Logger } from 'pino';
import type { DataFiles } from './data-files.js';
import type { FreeSpace } from './free-space.js';
import type { JobTable } from './job-table.js';

export interface CompactionOptions {
  logger: Logger;
  /** Snapshot after this many journal records, to bound recovery time. */
  snapshotEvery: number;
  /** Compact only once the files hold at least this many bytes. */
  compactMinBytes: number;
}

/** How often to look whether a snapshot is due with nothing being written. */
const CHECK_INTERVAL_MS = 5_000;

/**
 * When to snapshot. After `snapshotEvery` records (bounding recovery time), or as compaction when
 * the files hold at least twice what a snapshot of the table would: removals then give their
 * space back within seconds (a check runs on every commit and every few seconds). The snapshot's
 * size is estimated from the table, calibrated by the last snapshot's real size. With the disk
 * short of space only a compaction that fits in half the reserve runs (it frees more than it
 * takes); otherwise snapshots wait, and the journal keeps every change meanwhile.
 */
export class Compaction {
  private recordsSinceSnapshot = 0;
  /** Snapshot bytes per estimated table byte, as the last snapshot measured it. */
  private ratio = 1;
  private running: Promise<void> | null = null;
  private stopped = false;
  /** The last due snapshot found no room, or failed: commits stop asking until the next timed look. */
  private holdingOff = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly options: CompactionOptions,
    private readonly table: JobTable,
    private readonly files: DataFiles,
    private readonly space: FreeSpace,
  ) {
    this.timer = setInterval(() => {
      this.holdingOff = false;
      this.consider();
    }, CHECK_INTERVAL_MS);
    this.timer.unref();
  }

  /** Records applied: a snapshot may be due. */
  applied(records: number): void {
    this.recordsSinceSnapshot += records;
    this.consider();
  }

  /** Starts a snapshot if one is due and, by a fresh statfs, there is room for it. */
  consider(): void {
    if (this.running || this.stopped || this.holdingOff || !this.due()) return;
    this.running = this.snapshotIfRoom()
      .catch((error: unknown) => {
        this.holdingOff = true;
        this.options.logger.error({ err: error }, 'snapshot failed; the journal still holds every change');
      })
      .finally(() => {
        this.running = null;
      });
  }

  /** Stops looking and waits for a snapshot under way. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
  }

  private estimate(): number {
    return Math.ceil(this.table.liveBytes * this.ratio);
  }

  private compacts(): boolean {
    const stored = this.files.storedBytes;
    return stored >= this.options.compactMinBytes && this.estimate() * 2 <= stored;
  }

  private due(): boolean {
    return this.compacts() || this.recordsSinceSnapshot >= this.options.snapshotEvery;
  }

  private async snapshotIfRoom(): Promise<void> {
    await this.space.check();
    const estimate = this.estimate();
    const fits = this.space.short
      ? this.compacts() && this.space.roomFor(estimate, this.space.minFreeBytes / 2)
      : this.space.roomFor(estimate);
    this.holdingOff = !fits;
    if (this.stopped || !fits) return;
    this.recordsSinceSnapshot = 0;
    const liveBytes = this.table.liveBytes;
    const bytes = await this.files.snapshot(this.table);
    if (liveBytes > 0) this.ratio = bytes / liveBytes;
    await this.space.check();
  }
}
