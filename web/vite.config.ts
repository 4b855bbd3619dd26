import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// `npm run dev` proxies /rpc to an App Server started by hand, e.g.
//   wright app-server --listen ws://127.0.0.1:4600 --ws-auth none --ws-allow-origin http://localhost:5173
// (set WRIGHT_RPC to point elsewhere).
const rpc = process.env.WRIGHT_RPC ?? 'ws://127.0.0.1:4600';

export default defineConfig({
  base: '/',
  plugins: [svelte()],
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    target: 'es2022',
    sourcemap: false,
    // One JS and one CSS file: `wright serve` embeds them.
    cssCodeSplit: false,
    modulePreload: { polyfill: false },
  },
  server: {
    port: 5173,
    strictPort: true,
    proxy: {
      '/rpc': { target: rpc, ws: true, changeOrigin: false },
    },
  },
});
