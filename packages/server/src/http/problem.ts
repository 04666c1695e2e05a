import { PROBLEM_CONTENT_TYPE, type Problem } from '@simmer/contracts';
import type { FastifyReply } from 'fastify';

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  408: 'Request Timeout',
  409: 'Conflict',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  421: 'Misdirected Request',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  505: 'HTTP Version Not Supported',
};

export function problem(status: number, detail: string): Problem {
  return { type: 'about:blank', title: TITLES[status] ?? (status < 500 ? 'Bad Request' : 'Internal Server Error'), status, detail };
}

/** Answers with an RFC 9457 problem document. */
export function sendProblem(reply: FastifyReply, status: number, detail: string): FastifyReply {
  return reply.code(status).type(PROBLEM_CONTENT_TYPE).send(problem(status, detail));
}

/**
 * A raw HTTP/1.1 answer for requests so malformed that Fastify never sees them: a problem document
 * with `headers` (the security headers) and `Connection: close`, the status line's reason phrase
 * the same as the document's title.
 */
export function rawProblemResponse(status: number, detail: string, headers: Readonly<Record<string, string>> = {}): string {
  const doc = problem(status, detail);
  const body = JSON.stringify(doc);
  const extra = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  return (
    `HTTP/1.1 ${status} ${doc.title}\r\n${extra}` +
    `Content-Type: ${PROBLEM_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
  );
}
