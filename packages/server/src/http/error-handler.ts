import type { FastifyError, FastifyInstance } from 'fastify';
import { StoreClosedError, StoreError, StoreFullError, StoreOverloadedError, StoreUnavailableError } from '../store/store-errors.js';
import { Refusal } from './limits/refusal.js';
import { sendProblem } from './problem.js';

/** Clear words for the fields whose schema is a pattern, in place of the pattern itself. */
const PATTERN_HINTS: Record<string, string> = {
  id: 'must be a job id: a lower-case UUIDv7 such as 0193d9a4-7c3e-7b5e-9f00-123456789abc',
  cursor: 'must be a job id (a lower-case UUIDv7) taken from a Link header',
  'idempotency-key': 'must be 1 to 255 visible ASCII characters',
};

function validationDetail(error: FastifyError): string {
  const [first] = error.validation ?? [];
  if (!first) return error.message;
  const where = error.validationContext ?? 'request';
  const field =
    first.instancePath.replace(/^\//, '') ||
    (first.params as { missingProperty?: string; additionalProperty?: string }).additionalProperty ||
    '';
  if (first.keyword === 'additionalProperties') {
    const extra = (first.params as { additionalProperty?: string }).additionalProperty;
    return `${where} has an unknown field "${extra}"`;
  }
  if (first.keyword === 'pattern' && PATTERN_HINTS[field]) return `${where}/${field} ${PATTERN_HINTS[field]}`;
  return `${where}${field ? `/${field}` : ''} ${first.message ?? 'is invalid'}`;
}

function storeErrorDetail(error: StoreError): string {
  if (error instanceof StoreFullError) return 'The server is short of disk space and takes no new jobs for now; existing jobs go on.';
  if (error instanceof StoreOverloadedError) return 'The job store is busy; try again shortly.';
  if (error instanceof StoreClosedError) return 'The server is shutting down; try again shortly.';
  if (error instanceof StoreUnavailableError) return 'The job store is unavailable right now; try again shortly.';
  return 'The job store cannot serve this request right now; try again shortly.';
}

/**
 * Every error becomes a problem document. 4xx details say what was wrong; 5xx details never
 * leak internals (they are logged instead).
 */
export function registerErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error.validation) return sendProblem(reply, 400, validationDetail(error));
    if (error instanceof Refusal) {
      if (error.retryAfterMs !== null) reply.header('Retry-After', String(Math.max(1, Math.ceil(error.retryAfterMs / 1000))));
      return sendProblem(reply, error.statusCode, error.message);
    }
    if (error instanceof StoreError) {
      request.log.warn({ err: error }, 'the job store refused a request');
      reply.header('Retry-After', String(Math.ceil(error.retryAfterMs / 1000)));
      return sendProblem(reply, 503, storeErrorDetail(error));
    }
    const status = error.statusCode ?? 500;
    if (status >= 500) {
      if (status === 503) {
        // Fastify's own 503 (return503OnClosing): the server is shutting down.
        reply.header('Retry-After', '2');
        return sendProblem(reply, 503, 'The server is shutting down; try again shortly.');
      }
      request.log.error({ err: error }, 'request failed');
      return sendProblem(reply, 500, 'Something went wrong on our side; the request may be retried.');
    }
    switch (error.code) {
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return sendProblem(
          reply,
          415,
          `Content-Type ${request.headers['content-type'] ?? ''} is not supported: send application/json or no body.`,
        );
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return sendProblem(reply, 413, 'The request body is too large.');
      default:
        return sendProblem(reply, status, error.message);
    }
  });

  app.setNotFoundHandler((request, reply) => sendProblem(reply, 404, `No route for ${request.method} ${request.url.split('?')[0]}.`));
}
