import type { Stats } from '@simmer/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from './test-app.js';

const UNKNOWN_V7 = '0193d9a4-7c3e-7b5e-9f00-123456789abc';
const V4 = '3b241101-e2bb-4255-8caf-4136c566a962';
const JSON_TYPE = { 'content-type': 'application/json' };

interface BadRequest {
  name: string;
  method?: 'GET' | 'POST' | 'DELETE';
  url: string;
  headers?: Record<string, string>;
  payload?: string;
  status: number;
}

// Requests that parse as HTTP; the raw-socket cases (malformed HTTP, oversized bodies and headers)
// are in test/integration/bad-input.test.ts, against a real process.
const cases: BadRequest[] = [
  { name: 'malformed JSON', method: 'POST', url: '/jobs', headers: JSON_TYPE, payload: '{"a":', status: 400 },
  { name: 'a JSON array body', method: 'POST', url: '/jobs', headers: JSON_TYPE, payload: '[]', status: 400 },
  { name: 'a JSON string body', method: 'POST', url: '/jobs', headers: JSON_TYPE, payload: '"job"', status: 400 },
  { name: 'a JSON null body', method: 'POST', url: '/jobs', headers: JSON_TYPE, payload: 'null', status: 400 },
  { name: 'an unknown body field', method: 'POST', url: '/jobs', headers: JSON_TYPE, payload: '{"delay":5}', status: 400 },
  { name: 'a prototype-poisoning body', method: 'POST', url: '/jobs', headers: JSON_TYPE, payload: '{"__proto__":{"x":1}}', status: 400 },
  { name: 'a text/plain body', method: 'POST', url: '/jobs', headers: { 'content-type': 'text/plain' }, payload: 'new job', status: 415 },
  { name: 'an XML body', method: 'POST', url: '/jobs', headers: { 'content-type': 'application/xml' }, payload: '<job/>', status: 415 },
  { name: 'a 256-character idempotency key', method: 'POST', url: '/jobs', headers: { 'idempotency-key': 'k'.repeat(256) }, status: 400 },
  { name: 'an idempotency key with a space', method: 'POST', url: '/jobs', headers: { 'idempotency-key': 'two words' }, status: 400 },
  { name: 'an empty idempotency key', method: 'POST', url: '/jobs', headers: { 'idempotency-key': '' }, status: 400 },
  { name: 'a malformed job id', url: '/jobs/not-a-uuid', status: 400 },
  { name: 'a UUIDv4 job id', url: `/jobs/${V4}`, status: 400 },
  { name: 'an upper-case job id', url: `/jobs/${UNKNOWN_V7.toUpperCase()}`, status: 400 },
  { name: 'an encoded traversal id', url: '/jobs/..%2F..%2Fetc%2Fpasswd', status: 400 },
  { name: 'a 300-character id', url: `/jobs/${'a'.repeat(300)}`, status: 414 },
  { name: 'an unknown job id', url: `/jobs/${UNKNOWN_V7}`, status: 404 },
  { name: 'a download of an unknown job', method: 'POST', url: `/jobs/${UNKNOWN_V7}/download`, status: 404 },
  { name: 'limit=0', url: '/jobs?limit=0', status: 400 },
  { name: 'limit above the maximum', url: '/jobs?limit=1001', status: 400 },
  { name: 'a non-numeric limit', url: '/jobs?limit=ten', status: 400 },
  { name: 'a repeated limit', url: '/jobs?limit=1&limit=2', status: 400 },
  { name: 'a hexadecimal limit', url: '/jobs?limit=0x10', status: 400 },
  { name: 'a limit in exponent notation', url: '/jobs?limit=1e2', status: 400 },
  { name: 'a limit with a sign', url: '/jobs?limit=%2B5', status: 400 },
  { name: 'a limit with a space', url: '/jobs?limit=%207', status: 400 },
  { name: 'a fractional limit', url: '/jobs?limit=5.0', status: 400 },
  { name: 'an unknown status', url: '/jobs?status=done', status: 400 },
  { name: 'a malformed cursor', url: '/jobs?cursor=zzz', status: 400 },
  { name: 'an unknown query parameter', url: '/jobs?sort=asc', status: 400 },
  { name: 'a non-numeric Last-Event-ID', url: '/events', headers: { 'last-event-id': 'abc' }, status: 400 },
  { name: 'a negative ?after', url: '/events?after=-1', status: 400 },
  { name: 'an unknown route', method: 'DELETE', url: '/jobs', status: 404 },
  { name: 'a traversal into the demo images', url: '/demo-images/..%2F..%2Fpackage.json', status: 400 },
];

/** RFC 9110's reason phrases: each problem's title names its status. */
const TITLES: Record<number, string> = {
  400: 'Bad Request',
  404: 'Not Found',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
};

describe('bad input (in-process)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await buildTestApp();
  });

  afterAll(async () => {
    await t?.close();
  });

  it.each(cases)('answers $status with a problem document to $name', async ({ method = 'GET', url, headers, payload, status }) => {
    const response = await t.app.inject({ method, url, headers, payload });
    expect(response.statusCode).toBe(status);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    const problem = response.json<{ status: number; detail: string; title: string }>();
    expect(problem.status).toBe(status);
    expect(problem.title).toBe(TITLES[status]);
    expect(problem.detail.length).toBeGreaterThan(5);
    expect(response.headers['content-security-policy']).toMatch(/^default-src 'self'/);
    expect(response.headers['x-content-type-options']).toBe('nosniff');
  });

  it('wrote nothing and still serves after all of it', async () => {
    const stats = (await t.app.inject({ url: '/stats' })).json<Stats>();
    expect(stats.lastSeq).toBe(0);
    expect(Object.values(stats.counts).every((n) => n === 0)).toBe(true);
    const created = await t.app.inject({ method: 'POST', url: '/jobs' });
    expect(created.statusCode).toBe(202);
  });
});
