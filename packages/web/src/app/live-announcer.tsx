import { useEffect, useState } from 'react';
import { onAnnouncement } from '../lib/announcer';

/** The page's one polite live region. Repeated messages are re-sent by clearing the region first. */
export function LiveAnnouncer() {
  const [message, setMessage] = useState('');
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const off = onAnnouncement((next) => {
      setMessage('');
      clearTimeout(timer);
      timer = setTimeout(() => setMessage(next), 50);
    });
    return () => {
      off();
      clearTimeout(timer);
    };
  }, []);
  return (
    <div className="visually-hidden" role="status" aria-live="polite" aria-atomic="true" data-testid="announcer">
      {message}
    </div>
  );
}
