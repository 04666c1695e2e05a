/**
 * Why a store refused a call, as types a caller can branch on. They carry no HTTP knowledge:
 * `http/error-handler.ts` maps each to a status code. Every one means "not now", never "never":
 * nothing was changed, and the same call may succeed later.
 */

/** Base of every store refusal. `retryAfterMs` is a hint for when trying again makes sense. */
export abstract class StoreError extends Error {
  abstract readonly retryAfterMs: number;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name; // the subclass's own, e.g. 'StoreFullError', in logs and stack traces
  }
}

/** The backing storage cannot be reached (database down, restarting, unreachable). */
export class StoreUnavailableError extends StoreError {
  readonly retryAfterMs = 2_000;
}

/** The store is reachable but saturated (every connection busy for too long): overload, not an outage. */
export class StoreOverloadedError extends StoreError {
  readonly retryAfterMs = 1_000;
}

/** The store is short of space and takes no new jobs; reads and settles of running jobs go on. */
export class StoreFullError extends StoreError {
  readonly retryAfterMs = 30_000;
}

/** The store was closed (the process is shutting down). */
export class StoreClosedError extends StoreError {
  readonly retryAfterMs = 2_000;

  constructor(kind: string) {
    super(`the ${kind} job store is closed`);
  }
}
