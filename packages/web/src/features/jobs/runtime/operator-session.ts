export const OPERATOR_STORAGE_KEY = 'simmer.operator.v1';

/**
 * The operator token, once someone signs in: it lets this tab act on every job. Kept in the tab's
 * sessionStorage, so it survives a reload but goes with the tab (another tab signs in on its own).
 * One per jobs runtime.
 */
export class OperatorSession {
  private token: string | null;
  private readonly listeners = new Set<() => void>();

  constructor(private readonly storage: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>) {
    let stored: string | null = null;
    try {
      stored = storage.getItem(OPERATOR_STORAGE_KEY);
    } catch {
      // No session storage (a locked-down browser): sign-in lasts until the page is left.
    }
    this.token = stored && stored.trim() !== '' ? stored : null;
  }

  getToken = (): string | null => this.token;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  signIn(token: string): void {
    const trimmed = token.trim();
    if (trimmed === '') throw new Error('The operator token is empty.');
    this.set(trimmed);
  }

  signOut(): void {
    this.set(null);
  }

  private set(token: string | null): void {
    if (token === this.token) return;
    this.token = token;
    try {
      if (token === null) this.storage.removeItem(OPERATOR_STORAGE_KEY);
      else this.storage.setItem(OPERATOR_STORAGE_KEY, token);
    } catch {
      // Kept in memory for this page load.
    }
    for (const listener of this.listeners) listener();
  }
}
