import type { Socket } from 'node:net';
import { rawProblemResponse } from './problem.js';
import { SECURITY_HEADERS } from './security-headers.js';

/** Node's parser error codes (and its own timeout) and the answer each gets; anything else is a 400. */
const ANSWERS: Record<string, { status: number; detail: string }> = {
  HPE_HEADER_OVERFLOW: { status: 431, detail: 'The request headers are too large.' },
  HPE_CHUNK_EXTENSIONS_OVERFLOW: { status: 413, detail: 'The chunk extensions of the request body are too large.' },
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, detail: 'The request did not arrive in time.' },
};
const NOT_HTTP = { status: 400, detail: 'The request is not valid HTTP/1.1.' };

/**
 * Node's `clientError`: requests too malformed for Fastify (bad request line, oversized or invalid
 * headers) and requests that did not arrive in time (headersTimeout, requestTimeout). Node's own
 * answer is a bare status line; this one is a problem document with the security headers, as
 * every other answer. Nothing is written on a socket that is gone or already has an answer under
 * way (a pipelined request's error arriving mid-response).
 */
export function answerClientError(error: Error, socket: Socket): void {
  const code = (error as NodeJS.ErrnoException).code ?? '';
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  const { status, detail } = ANSWERS[code] ?? NOT_HTTP;
  socket.end(rawProblemResponse(status, detail, SECURITY_HEADERS));
}
