import { JOB_QUERY_PATTERN } from '@simmer/contracts/constants';

const QUERY = new RegExp(JOB_QUERY_PATTERN);

/**
 * What a person typed into "Find a job", as `GET /jobs?q=` takes it: a full id, or a short id as a
 * card shows it (six hex digits, with or without its `#`), in either case, spaces around ignored.
 * Null when it is neither, so the page can say so without asking the server.
 */
export function toJobQuery(text: string): string | null {
  const query = text.trim().replace(/^#\s*/, '').toLowerCase();
  return QUERY.test(query) ? query : null;
}
