/** What every action on a job sends: which job, and the token that gives the right to act on it. */
export interface JobActionInput {
  id: string;
  /** The job's control token, or the operator token (`Authorization: Bearer`). */
  token: string;
}
