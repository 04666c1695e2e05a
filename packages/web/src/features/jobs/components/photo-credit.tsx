import type { JobResult } from '@simmer/contracts';
import { UNSPLASH_HOME, withReferral } from '../../../lib/format';

/** Unsplash's attribution ("Photo by NAME on Unsplash", both linked with referral parameters), or the demo artwork's. */
export function PhotoCredit({ result, className, compact = false }: { result: JobResult; className?: string; compact?: boolean }) {
  const { photo } = result;
  if (result.source === 'demo') {
    // Compact (on cards): the card's own "demo image" badge says the rest.
    return (
      <p className={className}>
        {compact ? 'By' : 'Demo image by'}{' '}
        <a href={withReferral(photo.author.url)} target="_blank" rel="noopener noreferrer">
          {photo.author.name}
        </a>
      </p>
    );
  }
  return (
    <p className={className}>
      Photo by{' '}
      <a href={withReferral(photo.author.url)} target="_blank" rel="noopener noreferrer">
        {photo.author.name}
      </a>{' '}
      on{' '}
      <a href={UNSPLASH_HOME} target="_blank" rel="noopener noreferrer">
        Unsplash
      </a>
    </p>
  );
}
