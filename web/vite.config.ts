import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const webRoot = fileURLToPath(new URL('.', import.meta.url));
const repoRoot = fileURLToPath(new URL('..', import.meta.url));

/**
 * The browser UI. Built into web/dist, which `sluice serve` serves as static files; in
 * development (`npm run dev:web`) the API is proxied to a server on 127.0.0.1:8080.
 */
export default defineConfig({
  root: webRoot,
  base: '/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // React, Mantine and zod make one ~900 kB entry chunk (~280 kB gzipped), served once and
    // cached; the charts load with the data module only.
    chunkSizeWarningLimit: 1000,
  },
  server: {
    host: '127.0.0.1',
    port: 5173,
    // The request/response schemas are imported from src/core/api.ts, outside web/.
    fs: { allow: [repoRoot] },
    proxy: { '/api': { target: 'http://127.0.0.1:8080', changeOrigin: false } },
  },
  preview: { host: '127.0.0.1', port: 4173 },
});
