import { statfs } from 'node:fs/promises';
import type { Logger } from 'pino';

/** Reads the bytes an unprivileged process may still write on the filesystem holding `dir`. */
export type ReadFreeBytes = (dir: string) => Promise<number>;

const readFreeBytes: ReadFreeBytes = async (dir) => {
  const stats = await statfs(dir);
  return stats.bavail * stats.bsize;
};

const MiB = 1024 * 1024;

export interface FreeSpaceOptions {
  dataDir: string;
  /** DATA_DIR_MIN_FREE_BYTES: below this, creates are refused; 0 turns the check off. */
  minFreeBytes: number;
  logger: Logger;
  readFree?: ReadFreeBytes;
  /** How often free space is read even with nothing written here (other processes fill disks too). */
  intervalMs?: number;
}

/**
 * Free space on DATA_DIR, known well enough to refuse creates before the disk is full. A `statfs`
 * runs every `intervalMs`, and sooner once a fast writer has written `checkEveryBytes` since the
 * last one; between two reads the estimate is the last reading minus every byte written since, so
 * even a burst is refused in time. Below `minFreeBytes` the store takes no new jobs; the space left
 * is the reserve that claims, settles and removals of jobs already accepted go on writing into.
 */
export class FreeSpace {
  private freeAtRead = Number.POSITIVE_INFINITY;
  private writtenSinceRead = 0;
  private reading: Promise<void> | null = null;
  private wasShort = false;
  private readonly timer: NodeJS.Timeout;
  private readonly readFree: ReadFreeBytes;
  readonly checkEveryBytes: number;

  private constructor(private readonly options: FreeSpaceOptions) {
    this.readFree = options.readFree ?? readFreeBytes;
    this.checkEveryBytes = Math.min(8 * MiB, Math.max(64 * 1024, Math.floor(options.minFreeBytes / 8)));
    this.timer = setInterval(() => void this.check(), options.intervalMs ?? 1_000);
    this.timer.unref();
  }

  static async start(options: FreeSpaceOptions): Promise<FreeSpace> {
    const space = new FreeSpace(options);
    await space.check();
    return space;
  }

  /** Free bytes now, as best known. */
  get estimatedFree(): number {
    return this.freeAtRead - this.writtenSinceRead;
  }

  /** true while free space is below the minimum: creates are refused. */
  get short(): boolean {
    return this.options.minFreeBytes > 0 && this.estimatedFree < this.options.minFreeBytes;
  }

  /** Whether `bytes` more can be written keeping `keep` bytes free (the whole minimum by default). */
  roomFor(bytes: number, keep = this.options.minFreeBytes): boolean {
    return this.options.minFreeBytes === 0 || this.estimatedFree - bytes >= keep;
  }

  get minFreeBytes(): number {
    return this.options.minFreeBytes;
  }

  /** Why creates are refused, in words for /readyz, the 503 and the logs. */
  reason(): string {
    return (
      `free space on DATA_DIR ${this.options.dataDir} is ${mib(this.estimatedFree)}, below DATA_DIR_MIN_FREE_BYTES ` +
      `(${mib(this.options.minFreeBytes)}): new jobs are refused until space is freed; reads and running jobs go on`
    );
  }

  /** Counts bytes written to DATA_DIR; a fast writer gets its free space read again sooner. */
  wrote(bytes: number): void {
    this.writtenSinceRead += bytes;
    if (this.writtenSinceRead >= this.checkEveryBytes) void this.check();
  }

  /** Reads free space now (one read at a time; a caller during a read waits for it). */
  check(): Promise<void> {
    this.reading ??= this.read().finally(() => {
      this.reading = null;
    });
    return this.reading;
  }

  close(): void {
    clearInterval(this.timer);
  }

  private async read(): Promise<void> {
    if (this.options.minFreeBytes === 0) return;
    const writtenBefore = this.writtenSinceRead;
    try {
      this.freeAtRead = await this.readFree(this.options.dataDir);
      // Bytes written while statfs ran may or may not be in its answer: keep counting them.
      this.writtenSinceRead -= writtenBefore;
    } catch (error) {
      this.options.logger.warn({ err: error, dataDir: this.options.dataDir }, 'could not read free space on DATA_DIR');
      return;
    }
    if (this.short !== this.wasShort) {
      this.wasShort = this.short;
      if (this.short) this.options.logger.warn({ freeBytes: this.estimatedFree }, this.reason());
      else
        this.options.logger.info(
          { freeBytes: this.estimatedFree },
          'free space on DATA_DIR is back above the minimum: taking new jobs again',
        );
    }
  }
}

function mib(bytes: number): string {
  return `${(bytes / MiB).toFixed(1)} MiB`;
}
