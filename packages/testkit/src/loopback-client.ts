/**
 * HTTP requests from a chosen loopback source address (127.0.0.2, 127.0.0.3, …), so one test
 * process can stand for many distinct clients of a server's per-client limits. Loopback only.
 */

import http, { type IncomingHttpHeaders } from 'node:http';

export interface ClientRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** Gives up (rejects) after this long; default 10 s. */
  timeoutMs?: number;
}

export interface ClientResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One request on its own connection from `localAddress`; resolves with the whole answer. */
export function requestFrom(localAddress: string, url: string | URL, request: ClientRequest = {}): Promise<ClientResponse> {
  const target = new URL(url);
  if (!/^(127\.|\[::1\]$|localhost$)/.test(target.hostname)) throw new Error(`requestFrom is for loopback servers, not ${target.hostname}`);
  return new Promise((resolve, reject) => {
    const req = http.request(target, {
      method: request.method ?? 'GET',
      headers: request.headers,
      localAddress,
      agent: false,
      timeout: request.timeoutMs ?? 10_000,
    });
    req.on('timeout', () =>
      req.destroy(new Error(`${request.method ?? 'GET'} ${target.pathname} from ${localAddress}: no answer in time`)),
    );
    req.on('error', reject);
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.end(request.body);
  });
}
