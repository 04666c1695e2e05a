import { useLiveStatus } from '../runtime/jobs-runtime';
import './connection-indicator.css';

/** Live / reconnecting / offline, from the browser's online state and the event stream's. */
export function ConnectionIndicator() {
  const { online, stream, polling } = useLiveStatus();
  let state: 'live' | 'reconnecting' | 'offline';
  let label: string;
  let detail: string;
  if (!online) {
    state = 'offline';
    label = 'Offline';
    detail = 'New jobs are kept on this device and sent when you are back online.';
  } else if (stream.status === 'live') {
    state = 'live';
    label = 'Live';
    detail = 'Jobs update the moment they change.';
  } else {
    state = 'reconnecting';
    label = stream.status === 'connecting' ? 'Connecting' : 'Reconnecting';
    detail = polling ? 'The live stream is down; checking for changes every few seconds meanwhile.' : 'Restoring the live stream…';
  }
  return (
    <p className={`connection connection--${state}`} title={detail} data-state={state}>
      <span className="connection__dot" aria-hidden="true" />
      <span className="connection__label">{label}</span>
      {polling && state === 'reconnecting' && <span className="connection__extra"> · polling</span>}
      <span className="visually-hidden">. {detail}</span>
    </p>
  );
}
