import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import type { GridItem } from './job-grid';

/** How far down the reader must scroll before new jobs wait for them instead of pushing the cards down. */
const AWAY_FROM_TOP_PX = 64;

export interface NewJobsHold {
  /** The items to show: all of them, or all but the held ones. */
  shown: readonly GridItem[];
  /** How many new jobs are waiting for the reader. */
  held: number;
  /** Shows the held jobs: back to the top of the board. */
  showNew: () => void;
}

/**
 * Keeps the grid still under a reader. While they are scrolled away from the top, jobs newer than
 * the newest one shown when they left are held back and only counted, so others' new jobs do not
 * push the cards they are reading down; back at the top (or on `showNew`) everything shows. Jobs
 * created from this browser are never held, and this tab's own press (`pressedKey`) brings the
 * reader to the top, where its card is.
 */
export function useNewJobsHold(items: readonly GridItem[], isMine: (id: string) => boolean, pressedKey: string | null): NewJobsHold {
  // The newest job id shown, as of the last render: where the hold starts when the reader leaves the top.
  const newest = useRef<string | null>(null);
  const [cutoff, setCutoff] = useState<string | null>(null);

  useEffect(() => {
    const onScroll = () => {
      const away = window.scrollY > AWAY_FROM_TOP_PX;
      setCutoff((current) => (away ? (current ?? newest.current) : null));
    };
    onScroll();
    window.addEventListener('scroll', onScroll, { passive: true });
    return () => window.removeEventListener('scroll', onScroll);
  }, []);

  const showNew = useCallback(() => {
    window.scrollTo({ top: 0, behavior: 'instant' });
    setCutoff(null);
  }, []);

  // Before paint, so the pressed card is on screen in the same frame as the press.
  useLayoutEffect(() => {
    if (pressedKey !== null) showNew();
  }, [pressedKey, showNew]);

  const hold = useMemo(() => {
    if (cutoff === null) return { shown: items, held: 0 };
    let held = 0;
    const shown = items.filter((item) => {
      // UUIDv7 ids sort by creation time: a job newer than the cutoff was created after the reader left.
      if (item.kind !== 'job' || item.job.id <= cutoff || isMine(item.job.id)) return true;
      held += 1;
      return false;
    });
    return { shown: held > 0 ? shown : items, held };
  }, [items, cutoff, isMine]);

  if (cutoff === null) newest.current = firstJobId(items);
  return { ...hold, showNew };
}

function firstJobId(items: readonly GridItem[]): string | null {
  for (const item of items) if (item.kind === 'job') return item.job.id;
  return null;
}
