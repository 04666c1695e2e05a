export const MY_JOBS_STORAGE_KEY = 'simmer.my-jobs.v2';
/** The first version kept ids only (no control tokens); its jobs stay "yours", without the right to act. */
const V1_STORAGE_KEY = 'simmer.my-jobs.v1';
const LIMIT = 1_000;

/**
 * The jobs created from this browser, with the control token each create answered with (the right
 * to act on that job), kept across reloads and shared by the tabs of the browser: a job made in one
 * tab can be cancelled from another, and one whose create went through the outbox (even answered on
 * a resend, as an idempotent replay) keeps its token too. One per jobs runtime, over the storage it is
 * given (the browser's localStorage on the page).
 */
export class MyJobs {
  /** id → control token (null for jobs recorded before tokens existed), oldest first. */
  private jobs: Map<string, string | null> | null = null;
  private readonly listeners = new Set<() => void>();
  private version = 0;

  constructor(private readonly storage: Pick<Storage, 'getItem' | 'setItem'>) {}

  private load(): Map<string, string | null> {
    if (this.jobs) return this.jobs;
    this.jobs = new Map(readStored(this.storage));
    return this.jobs;
  }

  has(id: string): boolean {
    return this.load().has(id);
  }

  /** The token that lets this device act on job `id`, if it created it. */
  tokenOf(id: string): string | null {
    return this.load().get(id) ?? null;
  }

  add(id: string, controlToken: string | null): void {
    const jobs = this.load();
    if (jobs.has(id) && (jobs.get(id) === controlToken || controlToken === null)) return;
    jobs.delete(id);
    jobs.set(id, controlToken);
    this.jobs = new Map([...jobs].slice(-LIMIT));
    try {
      this.storage.setItem(MY_JOBS_STORAGE_KEY, JSON.stringify([...this.jobs].map(([jobId, token]) => ({ id: jobId, token }))));
    } catch {
      // Marking is a nicety; a full storage must not break creating jobs (the tab keeps it in memory).
    }
    this.changed();
  }

  /** Another tab changed the stored list: read it again. */
  reload(): void {
    this.jobs = null;
    this.changed();
  }

  /** For useSyncExternalStore: a number that moves whenever the list does. */
  getVersion = (): number => this.version;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  private changed(): void {
    this.version += 1;
    for (const listener of this.listeners) listener();
  }
}

function readStored(storage: Pick<Storage, 'getItem'>): [string, string | null][] {
  try {
    const raw = storage.getItem(MY_JOBS_STORAGE_KEY);
    if (raw !== null) {
      const parsed: unknown = JSON.parse(raw);
      if (!Array.isArray(parsed)) return [];
      return parsed.filter(isStoredJob).map((entry) => [entry.id, typeof entry.token === 'string' ? entry.token : null]);
    }
    const v1: unknown = JSON.parse(storage.getItem(V1_STORAGE_KEY) ?? '[]');
    return Array.isArray(v1) ? v1.filter((id): id is string => typeof id === 'string').map((id) => [id, null]) : [];
  } catch {
    return [];
  }
}

function isStoredJob(value: unknown): value is { id: string; token?: unknown } {
  return typeof value === 'object' && value !== null && typeof (value as { id?: unknown }).id === 'string';
}
