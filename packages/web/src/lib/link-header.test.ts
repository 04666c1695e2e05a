import { describe, expect, it } from 'vitest';
import { nextCursorFromLink, parseLinkHeader } from './link-header';

describe('parseLinkHeader', () => {
  it('reads the API’s next link', () => {
    const links = parseLinkHeader('</jobs?limit=100&cursor=0193d9a4-0000-7000-8000-000000000001>; rel="next"');
    expect(links.get('next')).toBe('/jobs?limit=100&cursor=0193d9a4-0000-7000-8000-000000000001');
  });

  it('handles several links, unquoted and multi-valued rels, and commas inside URLs', () => {
    const links = parseLinkHeader('<https://x.test/a?b=1,2>; rel="prev first", </jobs?cursor=c>; title="x"; rel=next');
    expect(links.get('prev')).toBe('https://x.test/a?b=1,2');
    expect(links.get('first')).toBe('https://x.test/a?b=1,2');
    expect(links.get('next')).toBe('/jobs?cursor=c');
  });

  it('returns nothing for a missing or malformed header', () => {
    expect(parseLinkHeader(null).size).toBe(0);
    expect(parseLinkHeader('garbage; rel=next').size).toBe(0);
  });
});

describe('nextCursorFromLink', () => {
  it('extracts the cursor, or null on the last page', () => {
    expect(nextCursorFromLink('</jobs?status=failed&limit=100&cursor=abc>; rel="next"')).toBe('abc');
    expect(nextCursorFromLink(null)).toBeNull();
    expect(nextCursorFromLink('</jobs?limit=100>; rel="prev"')).toBeNull();
  });
});
