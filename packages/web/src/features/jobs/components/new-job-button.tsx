import { onlineManager } from '@tanstack/react-query';
import { announce } from '../../../lib/announcer';
import { useJobsRuntime } from '../runtime/jobs-runtime';

/** One press, one job: the press is recorded in the outbox with its idempotency key before anything is sent. */
export function NewJobButton({ className = 'button button--primary button--large' }: { className?: string }) {
  const { outbox } = useJobsRuntime();
  function onClick() {
    try {
      outbox.enqueue();
    } catch {
      announce('Could not save the new job on this device: browser storage is full or disabled.');
      return;
    }
    announce(onlineManager.isOnline() ? 'New job created.' : 'New job queued; it will be sent when you are back online.');
  }
  return (
    <button type="button" className={className} onClick={onClick}>
      <svg viewBox="0 0 24 24" aria-hidden="true" className="button__icon">
        <path d="M12 5v14M5 12h14" />
      </svg>
      New job
    </button>
  );
}
