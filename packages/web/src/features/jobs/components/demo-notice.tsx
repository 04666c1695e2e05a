import './demo-notice.css';

/** Shown while the server takes photos from its built-in demo catalog. */
export function DemoNotice() {
  return (
    <aside className="notice" aria-label="About the photos">
      <svg viewBox="0 0 24 24" className="notice__icon" aria-hidden="true">
        <path d="M12 8h.01M11 12h1v5h1M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18Z" />
      </svg>
      <p>
        <strong>Demo images.</strong> Photos come from Simmer's built-in catalog. For real food photos from Unsplash, set{' '}
        <code>UNSPLASH_ACCESS_KEY</code> in the server's environment (or its <code>.env</code> file) and restart it.
      </p>
    </aside>
  );
}
