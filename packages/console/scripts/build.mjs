// Builds the console: one ES module (Preact, @joon/core's validation and the widget inside)
// and one stylesheet, so the page needs nothing inline and runs under a strict CSP.
import { copyFile, mkdir, readFile } from 'node:fs/promises'
import { gzipSync } from 'node:zlib'
import { build } from 'esbuild'

const root = new URL('..', import.meta.url)
const dist = new URL('dist/', root)
await mkdir(dist, { recursive: true })

await build({
  entryPoints: [new URL('src/main.tsx', root).pathname],
  outfile: new URL('console.js', dist).pathname,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2022', 'chrome111', 'firefox111', 'safari16.4'],
  // Sibling packages are bundled from their TypeScript source, never a stale build.
  conditions: ['source', 'module', 'browser'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  minify: true,
  legalComments: 'none',
  define: { 'process.env.NODE_ENV': '"production"' },
  logLevel: 'warning',
})
await copyFile(new URL('src/console.css', root), new URL('console.css', dist))

if (process.argv.includes('--report') || !process.env.CI) {
  for (const file of ['console.js', 'console.css']) {
    const body = await readFile(new URL(file, dist))
    const kb = (n) => `${(n / 1024).toFixed(1)} KB`
    console.log(`${file}: ${kb(body.length)} minified, ${kb(gzipSync(body).length)} gzipped`)
  }
}
