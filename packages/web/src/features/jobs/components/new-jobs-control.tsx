import './new-jobs-control.css';

/** "N new jobs": the new jobs held back while the reader is scrolled down (see useNewJobsHold); pressing it shows them. */
export function NewJobsControl({ count, onShow }: { count: number; onShow: () => void }) {
  return (
    <button type="button" className="new-jobs" onClick={onShow}>
      <svg viewBox="0 0 24 24" aria-hidden="true" className="new-jobs__icon">
        <path d="M12 19V5M5 12l7-7 7 7" />
      </svg>
      {count.toLocaleString()} new job{count === 1 ? '' : 's'}
    </button>
  );
}
