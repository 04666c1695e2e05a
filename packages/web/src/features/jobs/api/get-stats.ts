import { queryOptions, useQuery } from '@tanstack/react-query';
import type { Stats } from '@simmer/contracts';
import { apiRequest } from '../../../lib/api-client';
import { backoffDelay, jitteredInterval } from '@simmer/contracts/backoff';
import { jobKeys } from './job-keys';

/** `GET /stats`: counts per status, the image source and the newest sequence number. */
export async function getStats(signal?: AbortSignal): Promise<Stats> {
  return (await apiRequest<Stats>('/stats', signal ? { signal } : {})).data;
}

export const statsQueryOptions = () =>
  queryOptions({
    queryKey: jobKeys.stats(),
    queryFn: ({ signal }) => getStats(signal),
    staleTime: 5_000,
  });

export const POLL_INTERVAL_MS = 3_000;

/**
 * Counts for the filter bar. While `polling` (the live stream cannot be held) this query is the
 * fallback's heartbeat: every few seconds with jitter, backing off exponentially while it fails.
 */
export function useStats(polling: boolean) {
  return useQuery({
    ...statsQueryOptions(),
    refetchInterval: (query) => {
      if (!polling) return false;
      const failures = query.state.fetchFailureCount;
      return failures === 0 ? jitteredInterval(POLL_INTERVAL_MS) : 1_000 + backoffDelay(failures, { baseMs: 2_000, maxMs: 30_000 });
    },
  });
}
