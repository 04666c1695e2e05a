import { defineConfig, defaultClientConditions } from 'vite';
import react from '@vitejs/plugin-react';

/** Where `npm run dev` runs the API (scripts/dev.env); SIMMER_API_URL points the dev server elsewhere. */
const api = process.env.SIMMER_API_URL ?? 'http://127.0.0.1:3100';

export default defineConfig({
  plugins: [react()],
  // Our own packages resolve to their TypeScript sources (their `@simmer/source` export condition): no build of them first.
  resolve: { conditions: ['@simmer/source', ...defaultClientConditions] },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // The server's CSP forbids inline script; keep the module preload polyfill out of index.html.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    reportCompressedSize: true,
  },
  server: {
    host: '127.0.0.1',
    // Everything the page asks the server for; /events streams through unbuffered.
    proxy: Object.fromEntries(['/jobs', '/stats', '/events', '/demo-images', '/docs', '/healthz', '/readyz'].map((path) => [path, api])),
  },
});
