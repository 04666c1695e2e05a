import { useWindowVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useLayoutEffect, useRef, useState, type ReactNode } from 'react';
import type { Job } from '@simmer/contracts';
import type { OutboxEntry } from '../../../lib/outbox';
import { useJobsRuntime } from '../runtime/jobs-runtime';
import { JobCard, QueuedCard } from './job-card';
import './job-grid.css';

export type GridItem = { kind: 'queued'; entry: OutboxEntry } | { kind: 'job'; job: Job };

export interface JobGridProps {
  items: readonly GridItem[];
  sendingKey: string | null;
  online: boolean;
  hasMore: boolean;
  loadingMore: boolean;
  onLoadMore: () => void;
  onOpen: (job: Job) => void;
  /** The total, when known (for aria-setsize); -1 otherwise. */
  total: number;
}

const MIN_CARD = 250;
const GAP = 16;
const BODY = 68;
/** At most this many cards arriving at the top at once glide in; a flood of them just appears. */
const MAX_ENTRANCES = 3;

const itemKey = (item: GridItem) => (item.kind === 'queued' ? `queued:${item.entry.key}` : item.job.id);

/**
 * A windowed grid: only the rows near the viewport are in the DOM, so 10,000 jobs cost as little as
 * 50. Rows scroll with the page (window virtualizer), and the next page is asked for when the last
 * rows come near. Every card is placed on its own (one absolutely positioned cell per card, keyed
 * by its job), so when new jobs arrive above, a card moves to its new place instead of being made
 * anew in another row: no remount, no second entrance, its photo and blur-hash kept.
 */
export function JobGrid({ items, sendingKey, online, hasMore, loadingMore, onLoadMore, onOpen, total }: JobGridProps) {
  const { myJobs } = useJobsRuntime();
  const ref = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(0);
  const [offset, setOffset] = useState(0);

  // The grid's width, and where it starts on the page (notices above it come and go), measured when
  // the browser reports a size change: after its own layout, so reading them forces none. (Measuring
  // on every render forced a layout per batch of changes: a third of the main thread in a storm, profiled.)
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    const measure = () => {
      setWidth(el.clientWidth);
      setOffset(Math.round(el.getBoundingClientRect().top + window.scrollY));
    };
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(el);
    if (el.parentElement) observer.observe(el.parentElement);
    return () => observer.disconnect();
  }, []);

  const columns = Math.max(1, Math.floor((width + GAP) / (MIN_CARD + GAP)));
  const cardWidth = width > 0 ? (width - GAP * (columns - 1)) / columns : MIN_CARD;
  const rowHeight = Math.round((cardWidth * 3) / 4) + BODY + GAP;
  const rowCount = Math.ceil(items.length / columns);

  const virtualizer = useWindowVirtualizer({
    count: rowCount,
    estimateSize: () => rowHeight,
    overscan: 2,
    scrollMargin: offset,
  });

  useEffect(() => {
    virtualizer.measure();
  }, [virtualizer, rowHeight, columns]);

  const rows = virtualizer.getVirtualItems();
  const entrance = useCalmEntrances(items);
  const lastRow = rows.at(-1)?.index ?? -1;
  useEffect(() => {
    if (hasMore && !loadingMore && lastRow >= rowCount - 4) onLoadMore();
  }, [hasMore, loadingMore, lastRow, rowCount, onLoadMore]);

  const cells: ReactNode[] = [];
  const rendered: string[] = [];
  for (const row of rows) {
    const top = row.start - virtualizer.options.scrollMargin;
    const first = row.index * columns;
    for (let column = 0; column < columns; column++) {
      const index = first + column;
      const item = items[index];
      if (!item) break;
      const key = itemKey(item);
      rendered.push(key);
      const position = index + 1;
      const style = {
        width: cardWidth,
        height: rowHeight - GAP,
        transform: `translate(${Math.round(column * (cardWidth + GAP))}px, ${top}px)`,
      };
      const className = entrance.enters(key, index) ? 'grid__cell grid__cell--enter' : 'grid__cell';
      cells.push(
        item.kind === 'queued' ? (
          <div key={key} className={className} style={style}>
            <QueuedCard entry={item.entry} sending={item.entry.key === sendingKey} online={online} position={position} setSize={total} />
          </div>
        ) : (
          <div key={key} className={className} style={style}>
            <JobCard job={item.job} mine={myJobs.has(item.job.id)} width={cardWidth} position={position} setSize={total} onOpen={onOpen} />
          </div>
        ),
      );
    }
  }
  entrance.keepOnly(rendered);

  return (
    <div
      ref={ref}
      className="grid"
      role="feed"
      aria-label="Jobs, newest first"
      aria-busy={loadingMore}
      style={{ height: virtualizer.getTotalSize() }}
    >
      {cells}
    </div>
  );
}

/**
 * Which cards play their entrance: the cards of the first render (the board loading), and cards
 * that arrive at the top a few at a time (a press, a quiet board). In a storm, dozens arrive with
 * every batch, and an entrance on each kept the browser animating without a pause; those, and cards
 * scrolled into view, just appear. Decided once per card, when it is first rendered, so a card's
 * entrance is neither cut short nor played again while it stays in the window.
 */
function useCalmEntrances(items: readonly GridItem[]) {
  const state = useRef<{ firstKey: string | null | undefined; decided: Map<string, boolean> }>({
    firstKey: undefined,
    decided: new Map(),
  });
  const { firstKey, decided } = state.current;
  // How many items now stand before the one that was first last time.
  let arrived = Infinity;
  if (firstKey === undefined) arrived = items.length;
  else {
    const limit = Math.min(items.length, MAX_ENTRANCES + 1);
    for (let i = 0; i < limit; i++) {
      if (itemKey(items[i]!) === firstKey) {
        arrived = i;
        break;
      }
    }
  }
  const calm = firstKey === undefined || arrived <= MAX_ENTRANCES;
  state.current.firstKey = items[0] ? itemKey(items[0]) : null;
  return {
    enters(key: string, index: number): boolean {
      let enters = decided.get(key);
      if (enters === undefined) {
        enters = calm && index < arrived;
        decided.set(key, enters);
      }
      return enters;
    },
    keepOnly(keys: readonly string[]): void {
      if (decided.size === keys.length) return;
      const kept = new Set(keys);
      for (const key of decided.keys()) if (!kept.has(key)) decided.delete(key);
    },
  };
}
