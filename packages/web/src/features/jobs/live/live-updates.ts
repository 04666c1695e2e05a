import { matchQuery, onlineManager, type QueryClient } from '@tanstack/react-query';
import type { Job, RemovedEvent, ResetEvent, Stats } from '@simmer/contracts';
import { EVENT_JOB, EVENT_READY, EVENT_REMOVED, EVENT_RESET, JOB_STATUSES } from '@simmer/contracts/constants';
import type { StreamState } from '../../../lib/event-stream';
import { SharedEventStream, browserTabs, type StreamRole, type TabsApi } from '../../../lib/shared-event-stream';
import { announce } from '../../../lib/announcer';
import { FrameBatch } from '../../../lib/frame-batch';
import { applyJobChanges, removeJobs, type JobsPages } from '../api/job-cache';
import { jobKeys } from '../api/job-keys';
import { statsQueryOptions } from '../api/get-stats';
import { keepJobDetailsCurrent } from '../api/job-detail-cache';
import type { KnownJobs } from '../runtime/known-jobs';
import type { MyJobs } from '../runtime/my-jobs';
import type { SseEvent } from '@simmer/contracts/sse';
import { Throttle } from '../../../lib/throttle';

export interface LiveSnapshot {
  stream: StreamState;
  online: boolean;
  /** The list may be fetched: the stream's resume point is known, so nothing between the two is missed. */
  baselineReady: boolean;
  /** The stream cannot be held right now: TanStack Query polling stands in. */
  polling: boolean;
}

/** What the page applied, for tests and for looking at a live page in devtools (`window.simmer`). */
export interface LiveDebug {
  role: StreamRole;
  /** The sequence numbers of the changes this tab applied, in order (the newest 20,000). */
  applied: readonly number[];
}

const SEQ_STORAGE_KEY = 'simmer.last-seq.v1';
/** A storm of changes is applied at most this often (one pass over the cache, one render); a lone change in the next frame. */
const FLUSH_INTERVAL_MS = 100;
/** A hidden tab has no animation frames: its changes wait at most this long. */
const HIDDEN_FLUSH_MS = 500;
/** The resume point for a reload is written at most this often (and when the page is hidden). */
const STORE_SEQ_MS = 1_000;
const APPLIED_KEPT = 20_000;
const STATS_THROTTLE_MS = 1_000;
const RESYNC_THROTTLE_MS = 5_000;
/** Every list the page can show: all jobs, and one per status filter. */
const LIST_FILTERS = [null, ...JOB_STATUSES] as const;

/**
 * Keeps the TanStack Query cache in step with `GET /events` (one stream for all of the browser's
 * tabs, see SharedEventStream): changes are gathered and written into the cached list pages at most
 * once per animation frame (no refetch per event); a `reset` or a gap in the sequence refetches; a
 * stream that cannot be held hands over to polling until it comes back.
 */
export class LiveUpdates {
  private readonly stream: SharedEventStream;
  private readonly listeners = new Set<() => void>();
  private snap: LiveSnapshot;
  private buffer: Job[] = [];
  /** Ids of jobs the server removed (retention), applied with the next flush. */
  private removedBuffer: string[] = [];
  private readonly batch = new FrameBatch(() => this.flush(), { minIntervalMs: FLUSH_INTERVAL_MS, fallbackMs: HIDDEN_FLUSH_MS });
  private readonly storeSeq = new Throttle(STORE_SEQ_MS, () => this.saveSeq());
  private appliedSeqs: number[] = [];
  /** Counts follow the changes (events and creates), at most once a second. */
  private readonly statsRefresh = new Throttle(STATS_THROTTLE_MS, () => {
    void this.queryClient.invalidateQueries({ queryKey: jobKeys.stats() });
  });
  /** Refetches lists and counts, because the stream says (or shows) that changes were missed. */
  private readonly resync = new Throttle(RESYNC_THROTTLE_MS, () => {
    void this.queryClient.invalidateQueries({ queryKey: jobKeys.lists() });
    void this.queryClient.invalidateQueries({ queryKey: jobKeys.stats() });
  });
  private replaying = true;
  private polledSeq: number | null = null;
  private unsubscribers: (() => void)[] = [];
  private started = false;

  constructor(
    private readonly queryClient: QueryClient,
    private readonly knownJobs: KnownJobs,
    private readonly myJobs: MyJobs,
    tabs: TabsApi | null = browserTabs(),
  ) {
    const stored = readStoredSeq();
    this.stream = new SharedEventStream(
      {
        url: '/events',
        tabs,
        onEvent: (event, seq, previous) => this.onEvent(event, seq, previous),
        onGap: () => this.resync.request(),
        onStateChange: (state) => this.onStreamState(state),
        isOnline: () => onlineManager.isOnline(),
        subscribeOnline: (listener) => onlineManager.subscribe(listener),
      },
      stored,
    );
    this.snap = { stream: this.stream.snapshot, online: onlineManager.isOnline(), baselineReady: stored !== null, polling: false };
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.unsubscribers.push(
      onlineManager.subscribe((online) => {
        this.publish({ online });
        announce(online ? 'Back online.' : 'You are offline. New jobs wait on this device and are sent when the connection returns.');
      }),
      this.queryClient.getQueryCache().subscribe((event) => {
        if (event.type === 'updated' && event.action.type === 'success' && matchQuery({ queryKey: jobKeys.stats() }, event.query)) {
          this.onStats(event.query.state.data as Stats);
        }
      }),
    );
    if (typeof window !== 'undefined') {
      // A reload resumes from the last change this tab applied, even one within the last second.
      const onHide = () => this.saveSeq();
      window.addEventListener('pagehide', onHide);
      this.unsubscribers.push(() => window.removeEventListener('pagehide', onHide));
    }
    // Hear the other tabs' changes from now on, before this tab's resume point is settled.
    this.stream.listen();
    if (this.snap.baselineReady) {
      this.stream.start();
      return;
    }
    // First visit in this tab: resume from the newest sequence number as of before the list is read.
    this.queryClient
      .fetchQuery(statsQueryOptions())
      .then((stats) => this.stream.setLastSeq(stats.lastSeq))
      .catch(() => undefined)
      .finally(() => {
        if (!this.started) return;
        this.publish({ baselineReady: true });
        this.stream.start();
      });
  }

  stop(): void {
    this.started = false;
    this.stream.stop();
    for (const unsubscribe of this.unsubscribers.splice(0)) unsubscribe();
    this.batch.cancel();
    this.storeSeq.cancel();
    this.statsRefresh.cancel();
    this.resync.cancel();
  }

  getSnapshot = (): LiveSnapshot => this.snap;

  get debug(): LiveDebug {
    return { role: this.stream.role, applied: this.appliedSeqs };
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /** Writes jobs (from the stream or a create) into every cached list. */
  applyJobs(jobs: readonly Job[]): void {
    if (jobs.length === 0) return;
    const finished: Job[] = [];
    const latest = jobs.map((job) => {
      const before = this.knownJobs.get(job.id);
      const best = this.knownJobs.remember(job);
      const wasDone = before?.status === 'resolved' || before?.status === 'failed';
      if (!wasDone && (best.status === 'resolved' || best.status === 'failed') && this.myJobs.has(best.id)) finished.push(best);
      return best;
    });
    // A list not in the cache stays out of it: the updater returns undefined for it, which sets nothing.
    for (const filter of LIST_FILTERS) {
      this.queryClient.setQueryData<JobsPages>(jobKeys.list(filter), (data) => applyJobChanges(data, latest, filter));
    }
    keepJobDetailsCurrent(this.queryClient, latest);
    announceFinished(finished);
    // Also after a create, whose card may come before (or, on a broken stream, without) its event.
    this.statsRefresh.request();
  }

  /** Drops jobs the server removed (retention) from every cached list; counts follow. */
  applyRemovals(ids: readonly string[]): void {
    if (ids.length === 0) return;
    const gone = new Set(ids);
    for (const id of gone) this.knownJobs.forget(id);
    this.queryClient.setQueriesData<JobsPages>({ queryKey: jobKeys.lists() }, (data) => removeJobs(data, gone));
    keepJobDetailsCurrent(this.queryClient, [], ids);
    this.statsRefresh.request();
  }

  private publish(patch: Partial<LiveSnapshot>): void {
    const next = { ...this.snap, ...patch };
    next.polling = next.online && next.stream.status !== 'live' && next.stream.failures >= 2;
    if (
      next.stream === this.snap.stream &&
      next.online === this.snap.online &&
      next.baselineReady === this.snap.baselineReady &&
      next.polling === this.snap.polling
    ) {
      return;
    }
    const wasPolling = this.snap.polling;
    this.snap = next;
    if (next.polling && !wasPolling) this.polledSeq = this.stream.snapshot.lastSeq;
    for (const listener of this.listeners) listener();
  }

  private onStreamState(state: StreamState): void {
    const previous = this.snap.stream;
    // The resume point moves with every event; only status changes are worth a re-render.
    if (state.status === previous.status && state.failures === previous.failures) return;
    if (state.status === 'live' && previous.status !== 'live') this.replaying = true;
    if (state.status === 'live' && previous.status === 'reconnecting' && previous.failures >= 2) announce('Live updates are back.');
    this.publish({ stream: state });
  }

  private onEvent(event: SseEvent, seq: number | null, previous: number | null): void {
    if (event.event === EVENT_JOB) {
      const job = parseJson<Job>(event.data);
      if (!job?.id) return;
      // Live events come one sequence number at a time; a jump means something was lost on the way.
      // (A replay sends each job's latest change only, so jumps during a replay are expected.)
      if (!this.replaying && seq !== null && previous !== null && seq > previous + 1) this.resync.request();
      this.buffer.push(job);
      this.recordApplied(seq);
      this.batch.request();
    } else if (event.event === EVENT_REMOVED) {
      const removed = parseJson<RemovedEvent>(event.data);
      if (!removed?.id) return;
      if (!this.replaying && seq !== null && previous !== null && seq > previous + 1) this.resync.request();
      this.removedBuffer.push(removed.id);
      this.recordApplied(seq);
      this.batch.request();
    } else if (event.event === EVENT_READY) {
      this.replaying = false;
    } else if (event.event === EVENT_RESET) {
      const reset = parseJson<ResetEvent>(event.data);
      if (reset && Number.isInteger(reset.lastSeq)) this.stream.setLastSeq(reset.lastSeq);
      // The lists are read again from scratch; views from before (maybe of a store since replaced) must not outrank them.
      this.knownJobs.clear();
      this.resync.request(true);
    }
  }

  private recordApplied(seq: number | null): void {
    if (seq === null) return;
    this.appliedSeqs.push(seq);
    if (this.appliedSeqs.length > APPLIED_KEPT * 2) this.appliedSeqs = this.appliedSeqs.slice(-APPLIED_KEPT);
  }

  private flush(): void {
    const jobs = this.buffer;
    this.buffer = [];
    this.applyJobs(jobs);
    // After the jobs: a job that changed and then went away within one flush ends up gone.
    const removed = this.removedBuffer;
    this.removedBuffer = [];
    this.applyRemovals(removed);
    this.storeSeq.request();
  }

  private saveSeq(): void {
    const { lastSeq } = this.stream.snapshot;
    if (lastSeq !== null) storeSeq(lastSeq);
  }

  private onStats(stats: Stats | undefined): void {
    if (!stats || !this.snap.polling) return;
    // Polling: a moved sequence number means something changed; refetch the lists (ETags keep unchanged pages cheap).
    if (this.polledSeq === null || stats.lastSeq > this.polledSeq) {
      this.polledSeq = stats.lastSeq;
      void this.queryClient.invalidateQueries({ queryKey: jobKeys.lists() });
    }
  }
}

function announceFinished(finished: Job[]): void {
  if (finished.length === 0) return;
  if (finished.length === 1) {
    const job = finished[0]!;
    announce(
      job.status === 'resolved'
        ? `Your job is ready: ${job.result?.photo.description ?? 'a food photo'}${job.result ? `, photo by ${job.result.photo.author.name}` : ''}.`
        : `Your job failed: ${job.error?.message ?? 'no photo could be fetched'}.`,
    );
    return;
  }
  const resolved = finished.filter((job) => job.status === 'resolved').length;
  const failed = finished.length - resolved;
  announce(`${finished.length} of your jobs finished: ${resolved} with a photo${failed ? `, ${failed} failed` : ''}.`);
}

function parseJson<T>(text: string): T | null {
  try {
    return JSON.parse(text) as T;
  } catch {
    return null;
  }
}

function readStoredSeq(): number | null {
  try {
    const raw = sessionStorage.getItem(SEQ_STORAGE_KEY);
    const seq = raw === null ? NaN : Number(raw);
    return Number.isSafeInteger(seq) && seq >= 0 ? seq : null;
  } catch {
    return null;
  }
}

function storeSeq(seq: number): void {
  try {
    sessionStorage.setItem(SEQ_STORAGE_KEY, String(seq));
  } catch {
    // Without storage a reload starts from /stats instead; nothing is lost.
  }
}
