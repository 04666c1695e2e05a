import { describe, expect, it } from 'vitest';
import type { Problem } from '@simmer/contracts';
import { ApiError, NetworkError } from '../../lib/api-client';
import { actionsFor, describeRefusal } from './job-actions';

const creator = { as: 'creator', token: 't'.repeat(32) } as const;
const operator = { as: 'operator', token: 'operator-token' } as const;
const problem = (status: number, detail: string): Problem => ({ type: 'about:blank', title: 'x', status, detail });

describe('actionsFor', () => {
  it('offers what the contract allows from each status, and delete on every one', () => {
    expect(actionsFor('pending')).toEqual(['cancel', 'run', 'delete']);
    expect(actionsFor('running')).toEqual(['cancel', 'delete']);
    expect(actionsFor('resolved')).toEqual(['delete']);
    expect(actionsFor('failed')).toEqual(['retry', 'delete']);
    // Cancel on a cancelled job is a no-op on the server: not offered.
    expect(actionsFor('cancelled')).toEqual(['retry', 'delete']);
  });
});

describe('describeRefusal', () => {
  it('says whose token was refused', () => {
    expect(describeRefusal('cancel', new ApiError(403, null), creator)).toMatch(/this device's token/);
    expect(describeRefusal('cancel', new ApiError(403, null), operator)).toMatch(/operator token.*Sign out/);
  });

  it("explains a conflict with the server's reason", () => {
    const text = describeRefusal('run', new ApiError(409, problem(409, 'Job x is resolved: only a pending job can be run.')), creator);
    expect(text).toBe('Could not run: Job x is resolved: only a pending job can be run.');
  });

  it('tells when to try again after a rate limit, and does not promise to retry by itself', () => {
    expect(describeRefusal('retry', new ApiError(429, null, 12_300), creator)).toBe(
      'Too many actions from this address: try again in 13 s.',
    );
    expect(describeRefusal('retry', new ApiError(429, null), creator)).toBe('Too many actions from this address: try again shortly.');
  });

  it('says a missing job is gone, and that nothing changed when there was no answer', () => {
    expect(describeRefusal('delete', new ApiError(404, null), creator)).toMatch(/no longer exists/);
    expect(describeRefusal('cancel', new NetworkError('offline'), creator)).toMatch(/did not answer. Nothing changed/);
    expect(describeRefusal('cancel', new ApiError(503, null), creator)).toMatch(/\(503\)/);
  });
});
