import { describe, expect, it } from 'vitest';
import type { JobError } from '@simmer/contracts';
import { JOB_ERROR_CODES } from '@simmer/contracts/constants';
import { explainError } from './job-errors';

describe('explainError', () => {
  it('has something to say for every error code in the contract', () => {
    for (const code of JOB_ERROR_CODES) {
      const { reason, hint } = explainError({ code, message: `the sentence for ${code}` });
      expect(reason).toBe(`the sentence for ${code}`);
      expect(hint, code).toBeTruthy();
    }
  });

  it('points at the access key for a refused key, and at Retry when Unsplash was away', () => {
    expect(explainError({ code: 'unsplash_unauthorized', message: 'x' }).hint).toContain('UNSPLASH_ACCESS_KEY');
    expect(explainError({ code: 'retry_limit_exceeded', message: 'x' }).hint).toContain('Retry');
  });

  it('shows the reason alone for a code it does not know (a newer server), and says when there is none', () => {
    expect(explainError({ code: 'something_new', message: 'A new reason.' } as unknown as JobError)).toEqual({
      reason: 'A new reason.',
      hint: null,
    });
    expect(explainError(null).reason).toBe('The job failed without a reason.');
  });
});
