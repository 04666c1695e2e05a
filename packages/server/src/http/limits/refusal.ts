/**
 * A request refused by a limit or a rule (rate, overload, origin, content type, access). Thrown
 * from hooks; the error handler answers it as a problem document with `statusCode`, the message
 * as `detail`, and `Retry-After` when `retryAfterMs` is set. Messages are for the client to read.
 */
export class Refusal extends Error {
  constructor(
    readonly statusCode: 400 | 401 | 403 | 415 | 421 | 429 | 503,
    message: string,
    readonly retryAfterMs: number | null = null,
  ) {
    super(message);
    this.name = 'Refusal';
  }
}
