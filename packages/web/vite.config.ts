import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

export default defineConfig({
  plugins: [react()],
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
    proxy: {
      '/jobs': 'http://127.0.0.1:3000',
      '/stats': 'http://127.0.0.1:3000',
      '/events': 'http://127.0.0.1:3000',
      '/demo-images': 'http://127.0.0.1:3000',
    },
  },
});
