export const MY_JOBS_STORAGE_KEY = 'simmer.my-jobs.v1';
const LIMIT = 1_000;

/**
 * The ids of jobs created from this browser, kept across reloads, so their outcomes can be
 * announced and marked without announcing everybody else's. One per jobs runtime, over the
 * storage it is given (the browser's localStorage on the page).
 */
export class MyJobs {
  private ids: Set<string> | null = null;

  constructor(private readonly storage: Pick<Storage, 'getItem' | 'setItem'>) {}

  private load(): Set<string> {
    if (this.ids) return this.ids;
    try {
      const raw = this.storage.getItem(MY_JOBS_STORAGE_KEY);
      const parsed: unknown = raw ? JSON.parse(raw) : [];
      this.ids = new Set(Array.isArray(parsed) ? parsed.filter((v): v is string => typeof v === 'string') : []);
    } catch {
      this.ids = new Set();
    }
    return this.ids;
  }

  /** Reads the stored ids again: another tab of this browser added one (its outbox sent a press). */
  reload(): void {
    this.ids = null;
  }

  has(id: string): boolean {
    return this.load().has(id);
  }

  add(id: string): void {
    const ids = this.load();
    if (ids.has(id)) return;
    ids.add(id);
    const list = [...ids].slice(-LIMIT);
    this.ids = new Set(list);
    try {
      this.storage.setItem(MY_JOBS_STORAGE_KEY, JSON.stringify(list));
    } catch {
      // Marking is a nicety; a full storage must not break creating jobs.
    }
  }
}
