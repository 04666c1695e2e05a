import { useMutation } from '@tanstack/react-query';
import type { Job } from '@simmer/contracts';
import { apiRequest, bearer } from '../../../lib/api-client';
import { useJobsRuntime } from '../runtime/jobs-runtime';
import type { JobActionInput } from './job-action-input';
import { jobKeys } from './job-keys';

/** `POST /jobs/{id}/run` with the job's control token or the operator's: a pending job becomes due now, so a worker claims it at once. */
export async function runJobNow({ id, token }: JobActionInput): Promise<Job> {
  return (await apiRequest<Job>(`/jobs/${encodeURIComponent(id)}/run`, { method: 'POST', headers: bearer(token) })).data;
}

export const runJobNowMutationOptions = () => ({
  mutationKey: jobKeys.action('run'),
  mutationFn: runJobNow,
});

/** The answer is the job as it is now: it goes into every cached list at once, ahead of its event. */
export function useRunJobNow() {
  const { live } = useJobsRuntime();
  return useMutation({ ...runJobNowMutationOptions(), onSuccess: (job) => live.applyJobs([job]) });
}
