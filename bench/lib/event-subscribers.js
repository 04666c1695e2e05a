// Many `/events` subscribers in one process, for the events suite: `fork(event-subscribers.js)`,
// then the parent sends { type: 'open', url, count }. Each subscriber is its own HTTP connection.
// The process tells its parent when every stream is ready, reports how many settled jobs its streams
// have received (every 200 ms), on { type: 'reset' } forgets what it has counted (the warm-up) and
// says so, and on { type: 'report' } answers with a latency histogram, what each
// stream received, and its own CPU time. It parses no more than it must: a change's JSON is read
// once per process (the first subscriber to get it), every other delivery is an id and an event name.

import net from 'node:net';
import { setPriority } from 'node:os';

// The load generator yields to the server it measures: on a shared machine, a reader woken by every
// write would otherwise take the core from the writer mid-pass, and the figure would be the scheduler's.
setPriority(Number(process.env.BENCH_SUBSCRIBER_NICE ?? 10));

/** Histogram buckets of 0.1 ms, up to 60 s; anything later lands in the last bucket (and in `maxMs`). */
const BUCKET_MS = 0.1;
const BUCKETS = 600_000;
const histogram = new Uint32Array(BUCKETS);
let maxMs = 0;
let timed = 0;
/** Deliveries of a job's settled change (resolved or failed), over all streams. */
let settled = 0;

/**
 * Every change id (a string) seen, with its own timestamp in ms (null for changes without one:
 * running, removed) and whether it settles its job.
 */
const changes = new Map();

/** @type {{ count: number, lastSeq: number, outOfOrder: number, ready: boolean, closed: boolean, request?: net.Socket }[]} */
const streams = [];
let readyCount = 0;
/** How many streams the parent asked for: `ready` goes out once all of them are. */
let wanted = Infinity;
let stopping = false;
const send = (message) => process.connected && process.send(message);

const wallNow = () => performance.timeOrigin + performance.now();

/** The change's own timestamp (createdAt for a new job, resolvedAt for a settled one), and whether it settles the job. */
function changeOf(data) {
  const job = JSON.parse(data);
  const settles = job.status === 'resolved' || job.status === 'failed';
  const at = job.status === 'pending' ? job.createdAt : settles ? job.resolvedAt : null;
  return { at: at ? Date.parse(at) : null, settles };
}

function onFrame(stream, frame, now) {
  if (frame.charCodeAt(0) === 58 /* ':' comment */ || !frame.startsWith('id: ')) {
    if (frame.startsWith('event: reset')) stream.reset = true;
    return;
  }
  const idEnd = frame.indexOf('\n');
  const id = frame.slice(4, idEnd);
  const eventEnd = frame.indexOf('\n', idEnd + 1);
  const event = frame.slice(idEnd + 8, eventEnd === -1 ? frame.length : eventEnd);
  if (event === 'ready') {
    if (!stream.ready) {
      stream.ready = true;
      stream.lastSeq = Number(id);
      readyCount += 1;
      if (readyCount === wanted) send({ type: 'ready' });
    }
    return;
  }
  const seq = Number(id);
  if (seq <= stream.lastSeq) stream.outOfOrder += 1;
  stream.lastSeq = seq;
  stream.count += 1;
  if (event !== 'job') {
    if (!changes.has(id)) changes.set(id, { at: null, settles: false });
    return;
  }
  let change = changes.get(id);
  if (change === undefined) {
    // Frames are `id`, `event`, `data` lines in that order (the server's own format).
    change = changeOf(frame.slice(eventEnd + 7));
    changes.set(id, change);
  }
  if (change.settles) {
    stream.settled += 1;
    settled += 1;
  }
  if (change.at === null) return;
  const latency = now - change.at;
  timed += 1;
  if (latency > maxMs) maxMs = latency;
  histogram[Math.min(BUCKETS - 1, Math.max(0, Math.floor(latency / BUCKET_MS)))] += 1;
}

/** Where a subscriber is in the chunked transfer coding. */
const CHUNK_SIZE = 0;
const CHUNK_DATA = 1;
const CHUNK_END = 2;

/**
 * One subscriber: a raw TCP connection that sends the request itself and reads the chunked body
 * with a few lines of its own, not Node's HTTP client (a parser and a stream per connection): the
 * subscriber processes share the machine with the server, and every microsecond they spend per
 * delivery is taken from the server being measured.
 */
function open(url, index) {
  const stream = { count: 0, settled: 0, lastSeq: 0, outOfOrder: 0, ready: false, closed: false, reset: false };
  streams.push(stream);
  const { hostname, port, pathname } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: hostname, port: Number(port) });
    stream.request = socket;
    socket.setNoDelay(true);
    socket.write(`GET ${pathname} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nAccept: text/event-stream\r\n\r\n`);
    let head = true;
    /** Unparsed text: the start of the body's chunked coding, or of a frame cut across reads. */
    let pending = '';
    let state = CHUNK_SIZE;
    /** Bytes of the current chunk's data still to come. */
    let chunkLeft = 0;
    let frameText = '';
    socket.on('data', (chunk) => {
      const now = wallNow();
      // latin1: one char per byte, so lengths in chars are lengths in bytes; every field read here is ASCII.
      let text = pending + chunk.toString('latin1');
      pending = '';
      if (head) {
        const end = text.indexOf('\r\n\r\n');
        if (end === -1) {
          pending = text;
          return;
        }
        const status = text.slice(9, 12);
        if (status !== '200') {
          reject(new Error(`stream ${index}: GET /events answered ${status}`));
          socket.destroy();
          return;
        }
        head = false;
        resolve();
        text = text.slice(end + 4);
      }
      let at = 0;
      while (at < text.length) {
        if (state === CHUNK_SIZE) {
          const lineEnd = text.indexOf('\r\n', at);
          if (lineEnd === -1) break;
          chunkLeft = parseInt(text.slice(at, lineEnd), 16);
          at = lineEnd + 2;
          if (chunkLeft === 0) return; // the last chunk: the server ended the stream
          state = CHUNK_DATA;
        } else if (state === CHUNK_DATA) {
          const take = Math.min(chunkLeft, text.length - at);
          frameText += text.slice(at, at + take);
          at += take;
          chunkLeft -= take;
          if (chunkLeft === 0) state = CHUNK_END;
          let start = 0;
          for (let end = frameText.indexOf('\n\n'); end !== -1; end = frameText.indexOf('\n\n', start)) {
            onFrame(stream, frameText.slice(start, end), now);
            start = end + 2;
          }
          frameText = frameText.slice(start);
        } else {
          // The CRLF that ends a chunk's data.
          if (text.length - at < 2) break;
          at += 2;
          state = CHUNK_SIZE;
        }
      }
      pending = text.slice(at);
    });
    socket.on('close', () => {
      stream.closed = !stopping;
    });
    socket.on('error', (error) => {
      stream.closed = !stopping;
      reject(error);
    });
  });
}

process.on('message', async (message) => {
  if (message.type === 'open') {
    wanted = message.count;
    try {
      // A hundred at a time, so the server's accept queue and this process's event loop keep up.
      for (let i = 0; i < message.count; i += 100) {
        await Promise.all(Array.from({ length: Math.min(100, message.count - i) }, (_, j) => open(message.url, i + j)));
      }
    } catch (error) {
      send({ type: 'error', message: error.message });
    }
  } else if (message.type === 'reset') {
    // The warm-up is over: what it delivered is not counted. Sequence order is still checked across it.
    histogram.fill(0);
    maxMs = 0;
    timed = 0;
    settled = 0;
    changes.clear();
    for (const stream of streams) {
      stream.count = 0;
      stream.settled = 0;
    }
    send({ type: 'reset' });
  } else if (message.type === 'report') {
    const buckets = [];
    for (let i = 0; i < BUCKETS; i += 1) if (histogram[i] !== 0) buckets.push(i, histogram[i]);
    const counts = streams.map((stream) => stream.count);
    send({
      type: 'report',
      bucketMs: BUCKET_MS,
      buckets,
      maxMs,
      timed,
      settled,
      changes: changes.size,
      timedChanges: [...changes.values()].filter((change) => change.at !== null).length,
      minSettled: Math.min(...streams.map((stream) => stream.settled)),
      minCount: Math.min(...counts),
      maxCount: Math.max(...counts),
      outOfOrder: streams.reduce((sum, stream) => sum + stream.outOfOrder, 0),
      resets: streams.filter((stream) => stream.reset).length,
      closedEarly: streams.filter((stream) => stream.closed).length,
      cpuMs: (process.cpuUsage().user + process.cpuUsage().system) / 1000,
    });
  } else if (message.type === 'stop') {
    stopping = true;
    for (const stream of streams) stream.request?.destroy();
    process.disconnect();
  }
});

const progress = setInterval(() => send({ type: 'progress', settled }), 200);
process.on('disconnect', () => {
  clearInterval(progress);
  stopping = true;
  for (const stream of streams) stream.request?.destroy();
});
