import type { OutgoingHttpHeaders } from 'node:http';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import type { EventHub } from './events/event-hub.js';
import { clientOf } from './limits/rate-limits.js';
import type { StreamCaps } from './limits/stream-caps.js';
import { sendProblem } from './problem.js';

const SEQUENCE = /^\d{1,15}$/;

const STREAM_HEADERS = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-cache, no-transform',
  // Tell nginx-style proxies not to buffer the stream.
  'X-Accel-Buffering': 'no',
};

/** GET /events: every change as a server-sent event, resumable with Last-Event-ID or ?after=. */
export const eventsRoutes: FastifyPluginAsyncTypebox<{ hub: EventHub; caps: StreamCaps }> = async (app, { hub, caps }) => {
  const querystring = Type.Object({ after: Type.Optional(Type.String({ pattern: SEQUENCE.source })) }, { additionalProperties: false });

  // Fastify's automatic HEAD would run the GET handler: open a stream, replay, and hold the connection.
  app.head('/events', { schema: { summary: 'The headers of /events, without opening a stream', querystring } }, async (_request, reply) =>
    reply.headers(STREAM_HEADERS).code(200).send(),
  );

  app.get(
    '/events',
    {
      exposeHeadRoute: false,
      schema: {
        summary: 'Live job changes (text/event-stream)',
        description:
          'Each change is `id: <seq>`, `event: job`, `data: <Job>`. Resume with `Last-Event-ID` or `?after=<seq>`: the changes since then are ' +
          'replayed from the store. `event: reset` means the point cannot be replayed: reload the list. `event: ready` follows the replay. ' +
          'Streams are capped per process (503) and per client (429); a client that falls behind or stops reading is disconnected and resumes.',
        querystring,
      },
    },
    async (request, reply) => {
      const header = request.headers['last-event-id'];
      const resumeFrom = typeof header === 'string' && header !== '' ? header : request.query.after;
      if (resumeFrom !== undefined && !SEQUENCE.test(resumeFrom)) {
        return sendProblem(reply, 400, 'Last-Event-ID must be a sequence number taken from an event id.');
      }
      const release = caps.take(clientOf(request));
      reply.hijack();
      const res = reply.raw;
      res.once('close', release);
      // reply.headers() is not sent once hijacked: carry the security headers over by hand. HTTP/2
      // has no Connection header (a stream is one of many on its connection).
      const http1 = request.raw.httpVersionMajor === 1;
      res.writeHead(200, {
        ...(reply.getHeaders() as OutgoingHttpHeaders),
        ...STREAM_HEADERS,
        ...(http1 ? { Connection: 'keep-alive' } : {}),
      });
      // The head goes now; the hub writes the body to the socket itself.
      res.flushHeaders();
      request.raw.socket.setNoDelay(true);
      await hub.subscribe(res, resumeFrom === undefined ? null : Number(resumeFrom));
    },
  );
};
