import type { Logger } from 'pino';
import type { Claim } from './job-store.js';

/**
 * Tells `onClaimsEnded` listeners (schedulers) which claims a cancel or a delete ended, so the
 * work under them stops at once. A listener that throws is logged and does not stop the others.
 */
export class ClaimsEndedNotifier {
  private readonly listeners = new Set<(claims: Claim[]) => void>();

  constructor(private readonly logger: Logger) {}

  subscribe(listener: (claims: Claim[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  report(claims: Claim[]): void {
    if (claims.length === 0) return;
    for (const listener of this.listeners) {
      try {
        listener(claims);
      } catch (error) {
        this.logger.error({ err: error }, 'an onClaimsEnded listener threw');
      }
    }
  }

  close(): void {
    this.listeners.clear();
  }
}
