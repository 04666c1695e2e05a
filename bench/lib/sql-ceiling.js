// The ceiling of Simmer's SQL on this machine: its own claim and settle statements, on its own
// schema, run by bare connections that do nothing else (no scheduler, no job, no listener). No
// worker can drain faster than this, so it tells how much of a drain's cost is the database's and
// how much the worker's, and which targets the SQL alone could meet.

import pg from 'pg';
import { v7 as uuidv7 } from 'uuid';
import { createDemoSource } from '../../packages/server/dist/images/demo/demo-source.js';
import { settleBatch } from '../../packages/server/dist/store/postgres/claim-writes.js';
import { SESSION_OPTIONS } from '../../packages/server/dist/store/postgres/database.js';
import { JOB_SQL } from '../../packages/server/dist/store/postgres/job-sql.js';
import { openPostgresStore } from '../../packages/server/dist/store/postgres/postgres-store.js';
import { pino } from 'pino';

/**
 * Creates `jobs` due now on a fresh database, then drains them with `connections` connections,
 * each claiming `batch` jobs and settling them with demo-photo results, one statement after the
 * other as a worker does. Resolves with jobs/s over the drain.
 */
export async function drainWithStatementsAlone(databaseUrl, { jobs, connections = 4, batch = 32 }) {
  const store = await openPostgresStore({ databaseUrl, logger: pino({ level: 'silent' }), poolSize: 8 });
  try {
    const now = Date.now();
    for (let i = 0; i < jobs; i += 1_000)
      await Promise.all(
        Array.from({ length: Math.min(1_000, jobs - i) }, () =>
          store.createJob({ id: uuidv7(), createdAt: now, runAt: now, idempotencyKey: null }),
        ),
      );
  } finally {
    await store.close(); // its listener would be woken by every commit of the drain
  }
  // Real results (each ~1 KB, as a worker writes), taken ahead so the drain measures SQL only.
  const source = createDemoSource();
  const never = new AbortController().signal;
  const results = await Promise.all(
    Array.from({ length: 256 }, async () => ({ photo: await source.takePhoto(never), source: source.name })),
  );
  const clients = [];
  try {
    for (let i = 0; i < connections; i++) {
      // Planned as the store's own connections plan (one generic plan per statement).
      const client = new pg.Client({ connectionString: databaseUrl, options: SESSION_OPTIONS });
      client.on('error', () => undefined); // the drain's query rejects instead
      clients.push(client);
      await client.connect();
    }
    let taken = 0;
    const drain = async (client) => {
      // The store's own settle, on this bare connection, prepared once as the store's pool does.
      const db = { query: (text, values) => client.query({ name: 'settle', text, values }) };
      for (;;) {
        const { rows } = await client.query({ name: 'claim', text: JOB_SQL.claim, values: [Date.now(), batch, 30_000, 'ceiling'] });
        if (rows.length === 0) return;
        const outcome = () => ({ status: 'resolved', resolvedAt: Date.now(), result: results[taken++ % results.length] });
        await settleBatch(
          db,
          rows.map((row) => ({ id: row.id, claimToken: row.claim_token, outcome: outcome() })),
          () => undefined,
        );
      }
    };
    const started = performance.now();
    await Promise.all(clients.map(drain));
    return jobs / ((performance.now() - started) / 1000);
  } finally {
    await Promise.allSettled(clients.map((client) => client.end()));
  }
}
