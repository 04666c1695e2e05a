import { useWindowVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useLayoutEffect, useRef, useState } from 'react';
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
 * A windowed grid: rows of cards, only the rows near the viewport in the DOM, so 10,000 jobs cost
 * as little as 50. Rows scroll with the page (window virtualizer), and the next page is asked for
 * when the last rows come near.
 */
export function JobGrid({ items, sendingKey, online, hasMore, loadingMore, onLoadMore, onOpen, total }: JobGridProps) {
  const { myJobs } = useJobsRuntime();
  const ref = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(0);
  const [offset, setOffset] = useState(0);

  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    const measure = () => setWidth(el.clientWidth);
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(el);
    return () => observer.disconnect();
  }, []);

  // Notices above the grid come and go; keep the virtualizer's idea of where the grid starts exact.
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    const top = Math.round(el.getBoundingClientRect().top + window.scrollY);
    if (top !== offset) setOffset(top);
  });

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

  return (
    <div
      ref={ref}
      className="grid"
      role="feed"
      aria-label="Jobs, newest first"
      aria-busy={loadingMore}
      style={{ height: virtualizer.getTotalSize() }}
    >
      {rows.map((row) => (
        <div
          key={row.key}
          className="grid__row"
          style={{
            transform: `translateY(${row.start - virtualizer.options.scrollMargin}px)`,
            height: rowHeight - GAP,
            gridTemplateColumns: `repeat(${columns}, minmax(0, 1fr))`,
          }}
        >
          {items.slice(row.index * columns, row.index * columns + columns).map((item, i) => {
            const position = row.index * columns + i + 1;
            return item.kind === 'queued' ? (
              <QueuedCard
                key={item.entry.key}
                entry={item.entry}
                sending={item.entry.key === sendingKey}
                online={online}
                position={position}
                setSize={total}
              />
            ) : (
              <JobCard
                key={item.job.id}
                job={item.job}
                mine={myJobs.has(item.job.id)}
                width={cardWidth}
                position={position}
                setSize={total}
                onOpen={onOpen}
              />
            );
          })}
        </div>
      ))}
    </div>
  );
}
