import { useMutation } from '@tanstack/react-query';
import { ApiError, apiRequest, bearer } from '../../../lib/api-client';

/**
 * A job id that cannot belong to a job (a UUIDv7 from the first millisecond of 1970). The server
 * decides whether a token may act before it looks the job up, so an action on this id answers `404`
 * to a token with the right to act on every job, and `403` to any other, and changes nothing.
 */
const NO_SUCH_JOB = '00000000-0000-7000-8000-000000000000';

/** Whether the server takes `token` as the operator's: `POST /jobs/{an id no job has}/run`. */
export async function checkOperatorToken(token: string): Promise<boolean> {
  try {
    await apiRequest<unknown>(`/jobs/${NO_SUCH_JOB}/run`, { method: 'POST', headers: bearer(token) });
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return true;
    if (error instanceof ApiError && (error.status === 401 || error.status === 403)) return false;
    throw error;
  }
  // A 2xx for a job that cannot exist: not a server that follows the contract.
  return false;
}

export const checkOperatorTokenMutationOptions = () => ({
  mutationKey: ['operator', 'check'] as const,
  mutationFn: checkOperatorToken,
});

export function useCheckOperatorToken() {
  return useMutation(checkOperatorTokenMutationOptions());
}
