import { useMutation } from '@tanstack/react-query';
import type { Download } from '@simmer/contracts';
import { apiRequest } from '../../../lib/api-client';
import { jobKeys } from './job-keys';

/**
 * `POST /jobs/{id}/download`: the server records the download with Unsplash (as its guidelines ask)
 * and answers with the file's address.
 */
export async function downloadPhoto(jobId: string): Promise<Download> {
  return (await apiRequest<Download>(`/jobs/${encodeURIComponent(jobId)}/download`, { method: 'POST' })).data;
}

export const downloadPhotoMutationOptions = () => ({
  mutationKey: jobKeys.download(),
  mutationFn: downloadPhoto,
});

export function useDownloadPhoto() {
  return useMutation(downloadPhotoMutationOptions());
}
