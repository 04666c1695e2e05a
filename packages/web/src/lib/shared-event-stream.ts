import { EVENT_READY, EVENT_RESET } from '@simmer/contracts/constants';
import { EventStream, type EventStreamOptions, type StreamState, type StreamStatus } from './event-stream';
import type { SseEvent } from '@simmer/contracts/sse';
import { TabLeader, type ChannelLike, type LeaderClock, type LockManagerLike } from './tab-leader';

/** What tabs of one browser profile share; null where the browser lacks Web Locks or BroadcastChannel. */
export interface TabsApi {
  locks: LockManagerLike;
  openChannel: (name: string) => ChannelLike & { close(): void };
}

/** The browser's Web Locks and BroadcastChannel, or null where either is missing (Web Locks needs a secure context). */
export function browserTabs(): TabsApi | null {
  const locks = typeof navigator === 'undefined' ? undefined : (navigator.locks as LockManager | undefined);
  if (!locks || typeof BroadcastChannel !== 'function') return null;
  return { locks, openChannel: (name) => new BroadcastChannel(name) };
}

export interface SharedEventStreamOptions extends EventStreamOptions {
  tabs: TabsApi | null;
  /** Frames arrived that do not join onto what this tab has applied: something in between is missing. */
  onGap: () => void;
  /** Names the lock and channels, so two streams in one origin (tests) do not meet. */
  name?: string;
  heartbeatMs?: number;
  silenceMs?: number;
  tabId?: string;
  clock?: LeaderClock;
}

/** This tab holds its own stream (no sharing), leads the others, or follows the leader. */
export type StreamRole = 'solo' | 'leader' | 'follower';

/** One event as relayed between tabs: the SSE event, its sequence number and the one before it on its stream. */
interface Frame {
  event: SseEvent;
  seq: number | null;
  prev: number | null;
}

/** A frame on the channel: a flat tuple clones faster than objects (every relayed event is cloned per message). */
type WireFrame = [event: string, id: string | null, data: string, seq: number | null, prev: number | null];

const toWire = ({ event, seq, prev }: Frame): WireFrame => [event.event, event.id, event.data, seq, prev];
const fromWire = ([event, id, data, seq, prev]: WireFrame): Frame => ({ event: { event, id, data }, seq, prev });

/** How often a leader asks the browser whether any tab still follows (waits for the lock). */
const FOLLOWERS_CHECK_MS = 1_000;

type RelayMessage =
  | { kind: 'frames'; from: string; frames: WireFrame[] }
  | { kind: 'state'; from: string; status: StreamStatus; failures: number }
  | { kind: 'hello'; from: string };

/**
 * One `/events` stream per browser profile, shared by its tabs (a browser allows 6 HTTP/1.1
 * connections per host; a stream per tab starved the seventh tab).
 *
 * The tabs elect a leader (TabLeader); only the leader holds a stream, and it relays every event
 * with its sequence number and the one before it on its stream (`prev`) to the others over a
 * BroadcastChannel. Every tab, the leader included, applies an event only when it is newer than
 * the last one it applied; an event whose `prev` lies beyond that one does not join on, so the tab
 * reports a gap (its lists are fetched again). Which tab relays therefore never decides what is
 * applied: a deposed leader that thaws and relays a few stale frames, or two leaders for a moment,
 * cost traffic, never a gap or a double. A new leader resumes its stream from the last sequence
 * number its tab applied, which is the newest any tab applied: every tab hears every relayed frame.
 * Without Web Locks or BroadcastChannel the tab holds its own stream, as before.
 */
export class SharedEventStream {
  private readonly o: SharedEventStreamOptions;
  private applied: number | null;
  private state: StreamState;
  private role_: StreamRole;
  private started = false;
  private channel: (ChannelLike & { close(): void }) | null = null;
  private leaderChannel: (ChannelLike & { close(): void }) | null = null;
  private leader: TabLeader | null = null;
  /** The stream this tab holds (solo, or while it leads). */
  private own: EventStream | null = null;
  /** Frames heard before start(), when this tab's resume point was not known yet. */
  private early: Frame[] | null = null;
  private relayQueue: Frame[] = [];
  private readonly tabId: string;
  /** Whether any other tab follows: a leader alone relays nothing (each relay costs a copy and a trip through the browser). */
  private followed = true;
  private helloAt = 0;
  private followersTimer: ReturnType<typeof setInterval> | null = null;

  constructor(options: SharedEventStreamOptions, initialSeq: number | null) {
    this.o = options;
    this.applied = initialSeq;
    this.state = { status: 'stopped', failures: 0, lastSeq: initialSeq };
    this.role_ = options.tabs ? 'follower' : 'solo';
    this.tabId = options.tabId ?? crypto.randomUUID();
  }

  get snapshot(): StreamState {
    return this.state;
  }

  get role(): StreamRole {
    return this.role_;
  }

  /**
   * Starts hearing the other tabs' frames before this tab's resume point is known (a first visit
   * reads it from /stats), so that none relayed meanwhile is missed; they wait for start().
   */
  listen(): void {
    if (this.channel || !this.o.tabs) return;
    this.early = [];
    this.channel = this.o.tabs.openChannel(`${this.name}.frames`);
    this.channel.addEventListener('message', this.onMessage);
    // A leader that was alone relays again from now on.
    this.post({ kind: 'hello', from: this.tabId });
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    const { tabs } = this.o;
    if (!tabs) {
      this.lead();
      return;
    }
    this.listen();
    const early = this.early ?? [];
    this.early = null;
    for (const frame of early) this.accept(frame);
    this.setState({ status: 'connecting' });
    this.leaderChannel = tabs.openChannel(`${this.name}.leader`);
    this.leader = new TabLeader({
      locks: tabs.locks,
      channel: this.leaderChannel,
      lockName: `${this.name}.leader`,
      heartbeatMs: this.o.heartbeatMs ?? 500,
      silenceMs: this.o.silenceMs ?? 800,
      id: this.tabId,
      lead: () => this.lead(),
      ...(this.o.clock ? { clock: this.o.clock } : {}),
    });
    this.leader.start();
    // Ask the leader (if any) how its stream is doing; frames follow by themselves.
    if (!this.leader.isLeader) this.post({ kind: 'hello', from: this.tabId });
  }

  stop(): void {
    if (!this.started && !this.channel) return;
    this.started = false;
    this.leader?.stop();
    this.leader = null;
    this.stopOwn();
    this.channel?.removeEventListener('message', this.onMessage);
    this.channel?.close();
    this.channel = null;
    this.leaderChannel?.close();
    this.leaderChannel = null;
    this.early = null;
    this.relayQueue = [];
    this.setState({ status: 'stopped' });
  }

  /** Moves the resume point, e.g. after a `reset` told where the server's history starts. */
  setLastSeq(seq: number): void {
    this.applied = seq;
    this.own?.setLastSeq(seq);
    this.setState({});
  }

  private get name(): string {
    return this.o.name ?? 'simmer.events';
  }

  /** Opens this tab's own stream from the newest sequence number it applied. Returns how to close it. */
  private lead(): () => void {
    if (this.o.tabs) this.role_ = 'leader';
    let posted: { status: StreamStatus; failures: number } | null = null;
    const stream: EventStream = new EventStream(
      {
        ...this.o,
        onEvent: (event, seq, prev) => {
          if (this.own !== stream) return;
          const frame = { event, seq, prev };
          this.accept(frame);
          if (this.o.tabs) this.relay(frame);
        },
        onStateChange: (state) => {
          if (this.own !== stream) return;
          this.setState({ status: state.status, failures: state.failures });
          // The stream's state moves with every event (its resume point); the followers hear only
          // of what they show, its status (a message per event cost a copy and a trip each).
          const said = posted;
          if (said && said.status === state.status && said.failures === state.failures) return;
          posted = { status: state.status, failures: state.failures };
          this.post({ kind: 'state', from: this.tabId, ...posted });
        },
      },
      this.applied,
    );
    this.own = stream;
    stream.start();
    if (this.o.tabs) this.watchFollowers(this.o.tabs);
    return () => {
      this.stopOwn();
      if (this.started) this.role_ = 'follower';
    };
  }

  /** Every follower waits for the leader's lock; none waiting (and no hello since the question) means none. */
  private watchFollowers(tabs: TabsApi): void {
    this.followed = true;
    const lockName = `${this.name}.leader`;
    this.followersTimer = setInterval(() => {
      const asked = Date.now();
      tabs.locks
        .query()
        .then(({ pending = [] }) => {
          const waiting = pending.some((request) => request.name === lockName);
          if (this.own) this.followed = waiting || this.helloAt >= asked;
        })
        .catch(() => (this.followed = true));
    }, FOLLOWERS_CHECK_MS);
  }

  private stopOwn(): void {
    if (this.followersTimer !== null) clearInterval(this.followersTimer);
    this.followersTimer = null;
    const stream = this.own;
    this.own = null;
    stream?.stop();
    this.flushRelay();
  }

  private readonly onMessage = (event: MessageEvent): void => {
    const message = event.data as RelayMessage | null;
    if (!message || message.from === this.tabId) return;
    if (message.kind === 'frames') {
      const frames = message.frames.map(fromWire);
      if (this.early) this.early.push(...frames);
      else if (this.started) for (const frame of frames) this.accept(frame);
    } else if (message.kind === 'state') {
      if (this.started && !this.own) this.setState({ status: message.status, failures: message.failures });
    } else if (message.kind === 'hello' && this.own && this.role_ === 'leader') {
      this.helloAt = Date.now();
      this.followed = true;
      const { status, failures } = this.state;
      this.post({ kind: 'state', from: this.tabId, status, failures });
    }
  };

  /** Applies a frame from this tab's stream or another tab's, each sequence number at most once, in order. */
  private accept({ event, seq, prev }: Frame): void {
    const applied = this.applied;
    if (seq === null || event.event === EVENT_RESET) {
      // No place in the sequence (a reset names its own): always passed on.
      this.o.onEvent(event, seq, applied);
      return;
    }
    if (event.event === EVENT_READY) {
      // The end of a replay: no change of its own, but it vouches for everything up to its id.
      this.o.onEvent(event, seq, applied);
      if (applied !== null && (prev === null || prev <= applied) && seq > applied) {
        this.applied = seq;
        this.setState({});
      }
      return;
    }
    if (applied !== null && seq <= applied) return;
    if (applied !== null && prev !== null && prev > applied) this.o.onGap();
    this.applied = seq;
    this.o.onEvent(event, seq, applied);
    this.setState({});
  }

  /** Frames dispatched in one go (one network chunk) travel to the other tabs as one message. */
  private relay(frame: Frame): void {
    if (!this.followed) return;
    this.relayQueue.push(frame);
    if (this.relayQueue.length === 1) queueMicrotask(() => this.flushRelay());
  }

  private flushRelay(): void {
    if (this.relayQueue.length === 0) return;
    const frames = this.relayQueue;
    this.relayQueue = [];
    this.post({ kind: 'frames', from: this.tabId, frames: frames.map(toWire) });
  }

  private post(message: RelayMessage): void {
    this.channel?.postMessage(message);
  }

  private setState(patch: Partial<StreamState>): void {
    const next = { ...this.state, ...patch, lastSeq: this.applied };
    if (next.status === this.state.status && next.failures === this.state.failures && next.lastSeq === this.state.lastSeq) return;
    this.state = next;
    this.o.onStateChange?.(next);
  }
}
