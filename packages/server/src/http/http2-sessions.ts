import type { Http2SecureServer, ServerHttp2Session } from 'node:http2';
import type { FastifyInstance } from 'fastify';

/**
 * A graceful close for the HTTP/2 server: Node 20's does not end its sessions on close() (Node 24's
 * does), and Fastify does so only with forceCloseConnections, which would also cut HTTP/1.1
 * requests in flight. So each session is sent GOAWAY when the app closes: requests under way
 * finish, no new ones start, and the connection closes.
 */
export function closeHttp2SessionsOnClose(app: FastifyInstance): void {
  const server = app.server as unknown as Http2SecureServer;
  const sessions = new Set<ServerHttp2Session>();
  let closing = false;
  server.on('session', (session) => {
    if (closing) {
      session.close();
      return;
    }
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });
  app.addHook('preClose', async () => {
    closing = true;
    for (const session of sessions) session.close();
  });
}
