import type { MyJobs } from './my-jobs';
import { useJobsRuntime, useMyJobsVersion, useOperatorToken } from './jobs-runtime';

/** Who this tab acts as on a job, and the token it presents (`Authorization: Bearer`). */
export interface JobRights {
  as: 'creator' | 'operator';
  token: string;
}

/**
 * The right to act on job `id`: this device's control token when it created the job (the narrower
 * right, so it is preferred), else the operator's token when signed in, else none (a visitor).
 */
export function rightsFor(id: string, myJobs: Pick<MyJobs, 'tokenOf'>, operatorToken: string | null): JobRights | null {
  const own = myJobs.tokenOf(id);
  if (own) return { as: 'creator', token: own };
  if (operatorToken) return { as: 'operator', token: operatorToken };
  return null;
}

export function useJobRights(id: string): JobRights | null {
  const { myJobs } = useJobsRuntime();
  useMyJobsVersion();
  const operatorToken = useOperatorToken();
  return rightsFor(id, myJobs, operatorToken);
}
