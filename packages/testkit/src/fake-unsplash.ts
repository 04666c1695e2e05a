/**
 * A stand-in for the Unsplash API on 127.0.0.1, speaking the JSON, headers and errors that
 * Simmer relies on (see shared/UNSPLASH.md), and able to fail, throttle or stall on demand.
 */

import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { seededRandom } from './seeded-random.js';

/** The ways a request can be made to fail. */
export type FakeFaultKind = '500' | '403-quota' | '429' | 'reset' | 'stall' | 'bad-json';

export const FAKE_FAULT_KINDS: readonly FakeFaultKind[] = ['500', '403-quota', '429', 'reset', 'stall', 'bad-json'];

export interface FakeUnsplashOptions {
  /** The one access key accepted in `Authorization: Client-ID <key>`. Default `fake-unsplash-key`. */
  accessKey?: string;
  /** Seed of every random choice (photos, which requests fail and how): the same seed and requests give the same answers. */
  seed?: number;
  /** X-Ratelimit-Limit, and the quota left at start. Default 5000 (a production application's hourly quota). */
  quota?: number;
  /**
   * Where photo files are hot-linked from. Default: this server's own `/images`, which serves a small
   * SVG per photo so pages render offline (like Unsplash's image host, it neither counts calls nor quota).
   */
  imagesUrl?: string;
}

export interface FakeFaults {
  /** Probability (0..1) that an API request fails. */
  rate: number;
  /** How a failing request fails, chosen uniformly among these. */
  kinds: readonly FakeFaultKind[];
  /** Fail at most this many requests, then none; unlimited when absent. */
  count?: number;
}

/** One API request as received (image-file requests are not recorded). */
export interface FakeUnsplashCall {
  method: string;
  /** Path and query string. */
  path: string;
  headers: IncomingHttpHeaders;
  /** The status answered, or how the request was failed without an answer. */
  outcome: number | 'reset' | 'stall';
  /** For a stalled request: true once the client gave up on it (closed its connection). */
  abandoned?: boolean;
}

export interface FakeUnsplash {
  /** The API root, e.g. `http://127.0.0.1:40123`: pass it as UNSPLASH_API_URL. */
  readonly url: string;
  readonly accessKey: string;
  /** Every API request so far, oldest first; `calls.length` is the count. */
  readonly calls: readonly FakeUnsplashCall[];
  /** Resolves once at least `count` API requests have arrived. */
  waitForCalls(count: number): Promise<void>;
  /** Replaces the fault settings; `{ rate: 0, kinds: [] }` turns faults off. */
  setFaults(faults: FakeFaults): void;
  /** Sets X-Ratelimit-Remaining; at 0 every API request gets 403 `Rate Limit Exceeded` (plain text). */
  setQuota(remaining: number): void;
  /** Stops listening and destroys every open connection, stalled ones included. */
  close(): Promise<void>;
}

/**
 * Starts the stand-in Unsplash API on an ephemeral port of 127.0.0.1. It implements
 * `GET /photos/random` (`count` 1–30 gives an array, none a single photo) and
 * `GET /photos/:id/download` (answers `{"url": ...}`), checks the access key (401 with
 * Unsplash's JSON errors otherwise), sends X-Ratelimit-Limit/Remaining, spends one unit of quota
 * per answered API request, and injects the faults set with `setFaults`.
 */
export async function startFakeUnsplash(options: FakeUnsplashOptions = {}): Promise<FakeUnsplash> {
  const accessKey = options.accessKey ?? 'fake-unsplash-key';
  const limit = options.quota ?? 5000;
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 32);
  const photoRandom = seededRandom(seed);
  // A separate stream, so turning faults on or off does not change which photos are served.
  const faultRandom = seededRandom(seed ^ 0x5bd1e995);

  let remaining = limit;
  let faults: FakeFaults = { rate: 0, kinds: [] };
  let faultsLeft = Number.POSITIVE_INFINITY;
  const calls: FakeUnsplashCall[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  const photoFiles = new Map<string, string>();
  const sockets = new Set<Socket>();
  let url = '';
  let imagesUrl = '';

  const record = (call: FakeUnsplashCall): void => {
    calls.push(call);
    for (const waiter of [...waiters]) {
      if (calls.length >= waiter.count) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  };

  const rateHeaders = (): Record<string, string> => ({
    'X-Ratelimit-Limit': String(limit),
    'X-Ratelimit-Remaining': String(Math.max(0, remaining)),
  });

  const send = (res: ServerResponse, status: number, type: string, body: string, headers: Record<string, string> = {}): void => {
    res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), ...headers });
    res.end(body);
  };
  const sendJson = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void =>
    send(res, status, 'application/json; charset=utf-8', JSON.stringify(body), headers);

  const pickFault = (): FakeFaultKind | null => {
    if (faults.kinds.length === 0 || faultsLeft <= 0 || faultRandom() >= faults.rate) return null;
    faultsLeft -= 1;
    return faults.kinds[Math.floor(faultRandom() * faults.kinds.length)] ?? null;
  };

  const handleApi = (req: IncomingMessage, res: ServerResponse, call: FakeUnsplashCall): void => {
    const fault = pickFault();
    if (fault === 'reset') {
      call.outcome = 'reset';
      req.socket.destroy();
      return;
    }
    if (fault === 'stall') {
      call.outcome = 'stall';
      call.abandoned = false;
      res.once('close', () => (call.abandoned = true));
      return;
    }
    const answer = (status: number, write: () => void): void => {
      call.outcome = status;
      write();
    };
    if (fault === '500') {
      return answer(500, () => send(res, 500, 'text/html', '<html><body><h1>Internal Server Error</h1></body></html>'));
    }
    if (fault === '429' || fault === '403-quota') {
      const status = fault === '429' ? 429 : 403;
      return answer(status, () =>
        send(res, status, 'text/plain', 'Rate Limit Exceeded', { ...rateHeaders(), 'X-Ratelimit-Remaining': '0' }),
      );
    }

    if (req.headers.authorization !== `Client-ID ${accessKey}`) {
      return answer(401, () => sendJson(res, 401, { errors: ['OAuth error: The access token is invalid'] }));
    }
    if (remaining <= 0) {
      return answer(403, () => send(res, 403, 'text/plain', 'Rate Limit Exceeded', rateHeaders()));
    }

    const target = new URL(req.url ?? '/', url);
    const download = /^\/photos\/([A-Za-z0-9_-]{1,64})\/download$/.exec(target.pathname);
    if (req.method === 'GET' && target.pathname === '/photos/random') {
      const countParam = target.searchParams.get('count');
      const count = countParam === null ? null : Number(countParam);
      if (count !== null && !(Number.isInteger(count) && count >= 1 && count <= 30)) {
        return answer(400, () => sendJson(res, 400, { errors: ['count must be between 1 and 30'] }, rateHeaders()));
      }
      remaining -= 1;
      if (fault === 'bad-json') {
        // A body cut short in transit: starts like the real thing and stops mid-value.
        return answer(200, () => send(res, 200, 'application/json', '[{"id":"cut-short","created_at":"20', rateHeaders()));
      }
      const photos = Array.from({ length: count ?? 1 }, () => makePhoto());
      return answer(200, () => sendJson(res, 200, count === null ? photos[0] : photos, rateHeaders()));
    }
    if (req.method === 'GET' && download) {
      const file = photoFiles.get(download[1] ?? '');
      if (file === undefined) return answer(404, () => sendJson(res, 404, { errors: ["Couldn't find Photo"] }, rateHeaders()));
      remaining -= 1;
      if (fault === 'bad-json') return answer(200, () => send(res, 200, 'application/json', '{"url":"https://', rateHeaders()));
      const ixid = target.searchParams.get('ixid') ?? '';
      return answer(200, () => sendJson(res, 200, { url: `${file}?ixid=${ixid}&fm=jpg` }, rateHeaders()));
    }
    return answer(404, () => sendJson(res, 404, { errors: ["Couldn't find that"] }, rateHeaders()));
  };

  const makePhoto = (): Record<string, unknown> => {
    const pick = <T>(items: readonly T[]): T => items[Math.floor(photoRandom() * items.length)] as T;
    const token = (length: number, alphabet = ID_ALPHABET): string =>
      Array.from({ length }, () => alphabet[Math.floor(photoRandom() * alphabet.length)]).join('');
    const id = token(11);
    const [width, height] = pick(SIZES);
    const dish = pick(DISHES);
    const person = pick(PEOPLE);
    const file = `${imagesUrl}/photo-${1_500_000_000_000 + Math.floor(photoRandom() * 2e11)}-${token(12, '0123456789abcdef')}`;
    photoFiles.set(id, file);
    const ixid = `M3w${token(40)}`;
    const imgix = (extra: string): string => `${file}?ixid=${ixid}&ixlib=rb-4.1.0${extra}`;
    const slug = dish.replace(/[^a-z]+/gi, '-').toLowerCase();
    const color = `#${[0, 1, 2].map(() => (40 + Math.floor(photoRandom() * 200)).toString(16).padStart(2, '0')).join('')}`;
    return {
      id,
      slug: `${slug}-${id}`,
      created_at: new Date(Date.UTC(2020, 0, 1) + Math.floor(photoRandom() * 1.5e11)).toISOString(),
      width,
      height,
      color,
      blur_hash: photoRandom() < 0.1 ? null : pick(BLUR_HASHES),
      description: photoRandom() < 0.4 ? null : `${dish[0]?.toUpperCase()}${dish.slice(1)}`,
      alt_description: photoRandom() < 0.1 ? null : dish,
      urls: {
        raw: imgix(''),
        full: imgix('&q=85&fm=jpg&crop=entropy&cs=srgb'),
        regular: imgix('&q=80&w=1080&fm=jpg&crop=entropy&cs=tinysrgb'),
        small: imgix('&q=80&w=400&fm=jpg&crop=entropy&cs=tinysrgb'),
        thumb: imgix('&q=80&w=200&fm=jpg&crop=entropy&cs=tinysrgb'),
      },
      links: {
        self: `${url}/photos/${id}`,
        html: `https://unsplash.com/photos/${slug}-${id}`,
        download: `https://unsplash.com/photos/${id}/download?ixid=${ixid}`,
        download_location: `${url}/photos/${id}/download?ixid=${ixid}`,
      },
      likes: Math.floor(photoRandom() * 500),
      user: {
        id: token(11),
        username: person.username,
        name: person.name,
        links: { self: `${url}/users/${person.username}`, html: `https://unsplash.com/@${person.username}` },
      },
    };
  };

  const server = createServer((req, res) => {
    const path = req.url ?? '/';
    if (path.startsWith('/images/')) return serveImage(res, path);
    const call: FakeUnsplashCall = { method: req.method ?? 'GET', path, headers: { ...req.headers }, outcome: 'stall' };
    handleApi(req, res, call);
    record(call);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('The fake Unsplash server has no TCP address');
  url = `http://127.0.0.1:${address.port}`;
  imagesUrl = (options.imagesUrl ?? `${url}/images`).replace(/\/+$/, '');

  return {
    url,
    accessKey,
    calls,
    waitForCalls: (count) => (calls.length >= count ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ count, resolve }))),
    setFaults: (next) => {
      faults = { rate: Math.min(1, Math.max(0, next.rate)), kinds: [...next.kinds] };
      faultsLeft = next.count ?? Number.POSITIVE_INFINITY;
    },
    setQuota: (next) => {
      remaining = Math.max(0, Math.floor(next));
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        for (const socket of sockets) socket.destroy();
      }),
  };
}

/** A stand-in photo file: a gradient in a colour derived from its name, so pages show something offline. */
function serveImage(res: ServerResponse, path: string): void {
  const name = new URL(path, 'http://x').pathname;
  let hash = 2166136261;
  for (const char of name) hash = Math.imul(hash ^ char.charCodeAt(0), 16777619);
  const hue = (hash >>> 0) % 360;
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="1080" height="720" viewBox="0 0 1080 720">` +
    `<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="hsl(${hue} 60% 70%)"/>` +
    `<stop offset="1" stop-color="hsl(${(hue + 40) % 360} 55% 40%)"/></linearGradient></defs>` +
    `<rect width="1080" height="720" fill="url(#g)"/><circle cx="540" cy="360" r="200" fill="hsl(${hue} 40% 92%)" opacity="0.8"/></svg>`;
  res.writeHead(200, { 'Content-Type': 'image/svg+xml', 'Cache-Control': 'public, max-age=31536000, immutable' });
  res.end(svg);
}

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-';

const SIZES: readonly (readonly [number, number])[] = [
  [6000, 4000],
  [4000, 6000],
  [5472, 3648],
  [3024, 4032],
  [4000, 4000],
  [4608, 3072],
];

const DISHES = [
  'a bowl of ramen with a soft-boiled egg',
  'fresh strawberries on a wooden table',
  'margherita pizza straight from the oven',
  'avocado toast with chili flakes',
  'a stack of pancakes with maple syrup',
  'colourful poke bowl with salmon',
  'croissants on a bakery counter',
  'a plate of spaghetti with basil',
  'tacos with lime and coriander',
  'a green salad with pomegranate seeds',
  'sushi platter with chopsticks',
  'chocolate cake with berries',
] as const;

const PEOPLE = [
  { username: 'brookelark', name: 'Brooke Lark' },
  { username: 'joshuarawson', name: 'Joshua Rawson-Harris' },
  { username: 'eiliv', name: 'Eiliv Aceron' },
  { username: 'lvnatikk', name: 'Lily Banse' },
  { username: 'anh_nguyen', name: 'Anh Nguyen' },
  { username: 'chadmontano', name: 'Chad Montano' },
  { username: 'ellaolsson', name: 'Ella Olsson' },
] as const;

// Valid BlurHash strings (4×3 components), so pages decoding them get real placeholders.
const BLUR_HASHES = [
  'LHLnVT}ooc=v}ps-j@oKocj@a|fQ',
  'LBD0PAYIX5%JUQbsfjbZS_fjfQbG',
  'LaMY=x?Aoc%1~Lt3j@octLj@fQj@',
  'L7HQ*h]+bF]n}DoKa|oKbFa|jtjt',
  'L1A+8a3$K0}u4GXOj?SxF=j@jtbF',
  'LfN84s=[oc$%},s-j@odxWj@fQj@',
  'L3Ewpz.KS_}=~QkTbFodS_fjjtbG',
  'LSJkx9.Jk9%J?,ovfjodovfjfQfj',
] as const;
