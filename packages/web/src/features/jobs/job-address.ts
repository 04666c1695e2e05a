import { useSyncExternalStore } from 'react';
import { JOB_ID_PATTERN } from '@simmer/contracts/constants';

/** A job's detail has its own address, `/?job=<id>`, so it can be shared, reloaded and gone back to. */
const PARAM = 'job';
const CHANGE = 'simmer:job-address';
const JOB_ID = new RegExp(JOB_ID_PATTERN);

/** The job whose detail the address names, or null. */
export function readJobAddress(search = window.location.search): string | null {
  const id = new URLSearchParams(search).get(PARAM)?.toLowerCase() ?? null;
  return id !== null && JOB_ID.test(id) ? id : null;
}

/** The address of job `id`'s detail, keeping the rest of the current address (the filter). */
export function jobHref(id: string | null): string {
  const url = new URL(window.location.href);
  if (id === null) url.searchParams.delete(PARAM);
  else url.searchParams.set(PARAM, id);
  return `${url.pathname}${url.search}${url.hash}`;
}

/** Opens job `id`'s detail (a new history entry, so Back closes it), or closes it with null. */
export function showJobDetail(id: string | null): void {
  if (readJobAddress() === id) return;
  if (id === null) window.history.replaceState(window.history.state, '', jobHref(null));
  else window.history.pushState(window.history.state, '', jobHref(id));
  window.dispatchEvent(new Event(CHANGE));
}

function subscribe(listener: () => void): () => void {
  window.addEventListener('popstate', listener);
  window.addEventListener(CHANGE, listener);
  return () => {
    window.removeEventListener('popstate', listener);
    window.removeEventListener(CHANGE, listener);
  };
}

/** The job whose detail is open, following the address (links, Back and Forward). */
export function useJobAddress(): string | null {
  return useSyncExternalStore(subscribe, () => readJobAddress());
}
