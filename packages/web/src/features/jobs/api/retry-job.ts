import { useMutation } from '@tanstack/react-query';
import type { Job } from '@simmer/contracts';
import { apiRequest, bearer } from '../../../lib/api-client';
import { useJobsRuntime } from '../runtime/jobs-runtime';
import type { JobActionInput } from './job-action-input';
import { jobKeys } from './job-keys';

/** `POST /jobs/{id}/retry` with the job's control token or the operator's: a failed or cancelled job goes back to `pending`, due now. */
export async function retryJob({ id, token }: JobActionInput): Promise<Job> {
  return (await apiRequest<Job>(`/jobs/${encodeURIComponent(id)}/retry`, { method: 'POST', headers: bearer(token) })).data;
}

export const retryJobMutationOptions = () => ({
  mutationKey: jobKeys.action('retry'),
  mutationFn: retryJob,
});

/** The answer is the job as it is now: it goes into every cached list at once, ahead of its event. */
export function useRetryJob() {
  const { live } = useJobsRuntime();
  return useMutation({ ...retryJobMutationOptions(), onSuccess: (job) => live.applyJobs([job]) });
}
