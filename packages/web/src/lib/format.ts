import { SHORT_ID_LENGTH } from '@simmer/contracts/constants';

/** "4:05" for 245 s, "1:02:03" past an hour. */
export function formatCountdown(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1_000));
  const h = Math.floor(total / 3_600);
  const m = Math.floor((total % 3_600) / 60);
  const s = total % 60;
  const ss = String(s).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** "42 seconds", "3 minutes 5 seconds": the countdown in words, for assistive technology. */
export function describeDuration(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1_000));
  const m = Math.floor(total / 60);
  const s = total % 60;
  const parts: string[] = [];
  if (m) parts.push(`${m} minute${m === 1 ? '' : 's'}`);
  if (s || !m) parts.push(`${s} second${s === 1 ? '' : 's'}`);
  return parts.join(' ');
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });

export function formatClock(iso: string): string {
  return timeFormat.format(new Date(iso));
}

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

/** "5 minutes ago", "yesterday". */
export function formatAgo(iso: string, now: number): string {
  const seconds = Math.round((new Date(iso).getTime() - now) / 1_000);
  const abs = Math.abs(seconds);
  if (abs < 45) return 'just now';
  if (abs < 3_600) return relative.format(Math.round(seconds / 60), 'minute');
  if (abs < 86_400) return relative.format(Math.round(seconds / 3_600), 'hour');
  return relative.format(Math.round(seconds / 86_400), 'day');
}

/** The last characters of a UUIDv7 (the contract's short id): the random part, short enough to read aloud. */
export function shortId(id: string): string {
  return id.replace(/-/g, '').slice(-SHORT_ID_LENGTH);
}

const referral = { utm_source: 'simmer', utm_medium: 'referral' };

/** Adds Unsplash's attribution parameters to a link (absolute or same-origin). */
export function withReferral(href: string): string {
  try {
    const url = new URL(href, globalThis.location?.origin ?? 'http://localhost');
    for (const [k, v] of Object.entries(referral)) url.searchParams.set(k, v);
    return url.origin === globalThis.location?.origin ? `${url.pathname}${url.search}${url.hash}` : url.toString();
  } catch {
    return href;
  }
}

export const UNSPLASH_HOME = 'https://unsplash.com/?utm_source=simmer&utm_medium=referral';

const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

/** "7 Dec 2026, 19:46:53": a moment in a job's history, with its day. */
export function formatDateTime(iso: string): string {
  return dateTimeFormat.format(new Date(iso));
}
