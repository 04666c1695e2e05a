import { describe, expect, it } from 'vitest';
import { toJobQuery } from './job-query';

describe('toJobQuery', () => {
  it('takes a short id as a card shows it, with or without its # and in either case', () => {
    expect(toJobQuery('a1b2c3')).toBe('a1b2c3');
    expect(toJobQuery('  #A1B2C3 ')).toBe('a1b2c3');
    expect(toJobQuery('# a1b2c3')).toBe('a1b2c3');
  });

  it('takes a full id', () => {
    expect(toJobQuery('0193D9A4-0000-7000-8000-000000a1b2c3')).toBe('0193d9a4-0000-7000-8000-000000a1b2c3');
  });

  it('refuses anything else without asking the server', () => {
    for (const text of ['', '#', 'a1b2c', 'a1b2c3d', 'g1b2c3', '0193d9a4-0000-4000-8000-000000a1b2c3', 'a1b2c3; drop']) {
      expect(toJobQuery(text)).toBeNull();
    }
  });
});
