// Preloaded (`node --import`) into Simmer's worker processes by the queue-peers suite only: the
// server's clock (the Clock seam of src/clock.ts, which stamps resolvedAt) reads wall time to the
// microsecond (performance.timeOrigin + performance.now()) instead of whole milliseconds, so a job's
// resolvedAt compares with the bench's own sub-millisecond clock, as the peers' handler start times
// do. Times stay plain epoch-millisecond numbers, so no code path changes.
import { systemClock } from '../../packages/server/dist/clock.js';

const origin = performance.timeOrigin;
systemClock.now = () => origin + performance.now();
