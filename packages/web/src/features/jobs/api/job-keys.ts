import type { JobAction, JobStatus } from '@simmer/contracts/constants';

/**
 * Every TanStack Query key of the jobs feature, built here and nowhere else (the query-key factory
 * of TanStack's and bulletproof-react's guides): `jobKeys.lists()` matches every list, whatever its filter.
 */
export const jobKeys = {
  all: ['jobs'] as const,
  lists: () => [...jobKeys.all, 'list'] as const,
  list: (status: JobStatus | null) => [...jobKeys.lists(), status ?? 'all'] as const,
  details: () => [...jobKeys.all, 'detail'] as const,
  detail: (id: string) => [...jobKeys.details(), id] as const,
  search: (query: string) => [...jobKeys.all, 'search', query] as const,
  stats: () => [...jobKeys.all, 'stats'] as const,
  download: () => [...jobKeys.all, 'download'] as const,
  action: (action: JobAction | 'delete') => [...jobKeys.all, 'action', action] as const,
};
