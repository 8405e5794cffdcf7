import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'

const here = fileURLToPath(new URL('.', import.meta.url))

/**
 * The dashboard: src/dashboard → public/ (served by Roost at /). Preact's
 * JSX compiled by Vite's own transformer; no external request at run time,
 * so everything (scripts, styles) is bundled and served from 'self'.
 */
export default defineConfig({
  root: here,
  base: '/',
  publicDir: false,
  logLevel: 'warn',
  // See node-crypto-shim.ts.
  resolve: { alias: { crypto: fileURLToPath(new URL('./node-crypto-shim.ts', import.meta.url)) } },
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: fileURLToPath(new URL('../../public', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // The page's own budget is checked by the browser test (≤ 150 kB compressed); this only keeps Vite from warning about it.
    chunkSizeWarningLimit: 600,
    // No inline scripts or styles (the CSP allows only 'self'), no module-preload polyfill injected inline.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0
  }
})
