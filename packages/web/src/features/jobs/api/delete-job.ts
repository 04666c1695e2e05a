import { useMutation } from '@tanstack/react-query';
import { apiRequest, bearer } from '../../../lib/api-client';
import { useJobsRuntime } from '../runtime/jobs-runtime';
import type { JobActionInput } from './job-action-input';
import { jobKeys } from './job-keys';

/** `DELETE /jobs/{id}` with the job's control token or the operator's: `204`, from any status (a pending or running job is cancelled first). */
export async function deleteJob({ id, token }: JobActionInput): Promise<void> {
  await apiRequest<null>(`/jobs/${encodeURIComponent(id)}`, { method: 'DELETE', headers: bearer(token) });
}

export const deleteJobMutationOptions = () => ({
  mutationKey: jobKeys.action('delete'),
  mutationFn: deleteJob,
});

/** The card goes at once, ahead of the stream's `removed` event. */
export function useDeleteJob() {
  const { live } = useJobsRuntime();
  return useMutation({ ...deleteJobMutationOptions(), onSuccess: (_nothing, { id }) => live.applyRemovals([id]) });
}
