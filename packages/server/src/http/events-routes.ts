import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import type { EventHub } from './event-hub.js';
import { sendProblem } from './problem.js';

const SEQUENCE = /^\d{1,15}$/;

/** GET /events: every change as a server-sent event, resumable with Last-Event-ID or ?after=. */
export const eventsRoutes: FastifyPluginAsyncTypebox<{ hub: EventHub }> = async (app, { hub }) => {
  app.get(
    '/events',
    {
      schema: {
        summary: 'Live job changes (text/event-stream)',
        description:
          'Each change is `id: <seq>`, `event: job`, `data: <Job>`. Resume with `Last-Event-ID` or `?after=<seq>`: the changes since then are ' +
          'replayed from the store. `event: reset` means the point cannot be replayed: reload the list. `event: ready` follows the replay.',
        querystring: Type.Object({ after: Type.Optional(Type.String({ pattern: SEQUENCE.source })) }, { additionalProperties: false }),
      },
    },
    async (request, reply) => {
      const header = request.headers['last-event-id'];
      const resumeFrom = typeof header === 'string' && header !== '' ? header : request.query.after;
      if (resumeFrom !== undefined && !SEQUENCE.test(resumeFrom)) {
        return sendProblem(reply, 400, 'Last-Event-ID must be a sequence number taken from an event id.');
      }
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'Content-Type': 'text/event-stream; charset=utf-8',
        'Cache-Control': 'no-cache, no-transform',
        // Tell nginx-style proxies not to buffer the stream.
        'X-Accel-Buffering': 'no',
        Connection: 'keep-alive',
      });
      res.write('retry: 2000\n\n');
      request.raw.socket.setNoDelay(true);
      await hub.subscribe(res, resumeFrom === undefined ? null : Number(resumeFrom));
    },
  );
};
