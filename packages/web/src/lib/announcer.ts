type Listener = (message: string) => void;

const listeners = new Set<Listener>();

/**
 * Says something to screen-reader users through the page's one polite live region.
 * Callers announce outcomes and summaries, never one message per item of a large batch.
 */
export function announce(message: string): void {
  for (const listener of listeners) listener(message);
}

export function onAnnouncement(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
