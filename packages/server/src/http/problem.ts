import { PROBLEM_CONTENT_TYPE, type Problem } from '@simmer/contracts';
import type { FastifyReply } from 'fastify';

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

export function problem(status: number, detail: string): Problem {
  return { type: 'about:blank', title: TITLES[status] ?? (status < 500 ? 'Bad Request' : 'Internal Server Error'), status, detail };
}

/** Answers with an RFC 9457 problem document. */
export function sendProblem(reply: FastifyReply, status: number, detail: string): FastifyReply {
  return reply.code(status).type(PROBLEM_CONTENT_TYPE).send(problem(status, detail));
}

/** A raw HTTP/1.1 answer for requests so malformed that Fastify never sees them. */
export function rawProblemResponse(status: number, detail: string): string {
  const body = JSON.stringify(problem(status, detail));
  return (
    `HTTP/1.1 ${status} ${TITLES[status] ?? 'Bad Request'}\r\n` +
    `Content-Type: ${PROBLEM_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
  );
}
