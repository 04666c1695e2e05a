import { request as httpsRequest, type RequestOptions } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import type { TLSSocket } from 'node:tls';

export interface Http1Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  httpVersion: string;
  /** The protocol ALPN settled on (`http/1.1` here), false or null when none was. */
  alpn: string | false | null;
}

/** A GET over HTTPS offering only HTTP/1.1 in ALPN, as a client without HTTP/2 does; `ca` are the certificates it trusts. */
export function http1Get(url: string, ca: Buffer | Buffer[]): Promise<Http1Answer> {
  return new Promise((resolve, reject) => {
    const options: RequestOptions & { ALPNProtocols: string[] } = { ca, agent: false, ALPNProtocols: ['http/1.1'] };
    const req = httpsRequest(url, options, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body,
          httpVersion: res.httpVersion,
          alpn: (res.socket as TLSSocket).alpnProtocol,
        }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}
