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
  const lastRow = rows.at(-1)?.index ?? -1;
  useEffect(() => {
    if (hasMore && !loadingMore && lastRow >= rowCount - 4) onLoadMore();
  }, [hasMore, loadingMore, lastRow, rowCount, onLoadMore]);

  const cells: ReactNode[] = [];
  for (const row of rows) {
    const top = row.start - virtualizer.options.scrollMargin;
    const first = row.index * columns;
    for (let column = 0; column < columns; column++) {
      const item = items[first + column];
      if (!item) break;
      const position = first + column + 1;
      const style = {
        width: cardWidth,
        height: rowHeight - GAP,
        transform: `translate(${Math.round(column * (cardWidth + GAP))}px, ${top}px)`,
      };
      cells.push(
        item.kind === 'queued' ? (
          <div key={`queued:${item.entry.key}`} className="grid__cell" style={style}>
            <QueuedCard entry={item.entry} sending={item.entry.key === sendingKey} online={online} position={position} setSize={total} />
          </div>
        ) : (
          <div key={item.job.id} className="grid__cell" style={style}>
            <JobCard job={item.job} mine={myJobs.has(item.job.id)} width={cardWidth} position={position} setSize={total} onOpen={onOpen} />
          </div>
        ),
      );
    }
  }

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
