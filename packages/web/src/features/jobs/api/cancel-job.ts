import { useMutation } from '@tanstack/react-query';
import type { Job } from '@simmer/contracts';
import { apiRequest, bearer } from '../../../lib/api-client';
import { useJobsRuntime } from '../runtime/jobs-runtime';
import type { JobActionInput } from './job-action-input';
import { jobKeys } from './job-keys';

/** `POST /jobs/{id}/cancel` with the job's control token or the operator's: a pending or running job ends `cancelled` (a running photo call is aborted); a cancelled one stays as it is. */
export async function cancelJob({ id, token }: JobActionInput): Promise<Job> {
  return (await apiRequest<Job>(`/jobs/${encodeURIComponent(id)}/cancel`, { method: 'POST', headers: bearer(token) })).data;
}

export const cancelJobMutationOptions = () => ({
  mutationKey: jobKeys.action('cancel'),
  mutationFn: cancelJob,
});

/** The answer is the job as it is now: it goes into every cached list at once, ahead of its event. */
export function useCancelJob() {
  const { live } = useJobsRuntime();
  return useMutation({ ...cancelJobMutationOptions(), onSuccess: (job) => live.applyJobs([job]) });
}
