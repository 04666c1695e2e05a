import type { FastifyReply, FastifyRequest } from 'fastify';
import { controlTokenOf, sameSecret } from '../../jobs/control-tokens.js';
import type { Metrics } from '../../metrics.js';
import { Refusal } from './refusal.js';

/**
 * Who may act on a job (cancel, run now, retry, delete): whoever sends its control token (given
 * once, to the client that created it) or OPERATOR_TOKEN (unset: there is no operator) as
 * `Authorization: Bearer <token>`. No credentials → 401; a token that is neither → 403. Decided
 * before the job is looked up (a token is derived from the id alone), so a refusal reads nothing
 * and a token tells nothing about other jobs. Returns a preHandler for routes with an `id` parameter.
 */
export function jobAccess(
  tokenKey: () => Buffer,
  operatorToken: string | null,
  metrics: Pick<Metrics, 'requestsRefused'>,
): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  return async (request, reply) => {
    const header = request.headers.authorization;
    const given = header === undefined ? undefined : /^Bearer +(\S+) *$/i.exec(header)?.[1];
    if (given === undefined) {
      metrics.requestsRefused.inc({ reason: 'action_unauthenticated' });
      reply.header('WWW-Authenticate', 'Bearer realm="jobs"');
      throw new Refusal(
        401,
        header === undefined
          ? "Acting on a job needs Authorization: Bearer <the job's controlToken, or the operator token>."
          : 'The Authorization header must be Bearer <token>.',
      );
    }
    const { id } = request.params as { id: string };
    // Both compared every time, so the answer's timing does not tell which one was tried.
    const isJobs = sameSecret(given, controlTokenOf(tokenKey(), id));
    const isOperator = operatorToken !== null && sameSecret(given, operatorToken);
    if (isJobs || isOperator) return;
    metrics.requestsRefused.inc({ reason: 'action_forbidden' });
    throw new Refusal(403, `This token does not give the right to act on job ${id}.`);
  };
}
