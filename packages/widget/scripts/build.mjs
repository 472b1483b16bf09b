// Builds dist/widget.js (the script-tag bundle: IIFE, Preact inside, minified),
// dist/index.js (ESM for bundlers, Preact external) and dist/bundle-path.js.
// Types come from `tsc -p tsconfig.build.json` (declarations only).
// Fails when the script-tag bundle is over its budget of 12.5 KB gzipped (12 KB until streamed
// turns, issue 18: their reader, parser and draft bubble take about 490 B gzipped).
// terser runs after esbuild on the script-tag bundle only: its extra passes save about 280 B
// gzipped (2.3 %), the room the accessibility fixes of issue 16 needed.
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { brotliCompressSync, gzipSync } from 'node:zlib'
import { build } from 'esbuild'
import { minify } from 'terser'

export const BUDGET_BYTES = 12.5 * 1024
const root = fileURLToPath(new URL('..', import.meta.url))
const common = {
  absWorkingDir: root,
  bundle: true,
  jsx: 'automatic',
  jsxImportSource: 'preact',
  legalComments: 'none',
  logLevel: 'warning',
}

await Promise.all([
  build({
    ...common,
    entryPoints: ['src/script.ts'],
    outfile: 'dist/widget.js',
    format: 'iife',
    platform: 'browser',
    // Syntax of 2022 at most: public class fields (Safari 14.1+), nothing newer.
    target: 'es2022',
    minify: true,
    alias: { 'preact/jsx-runtime': './scripts/jsx-runtime.js' },
  }),
  build({
    ...common,
    entryPoints: ['src/index.ts'],
    outfile: 'dist/index.js',
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    external: ['preact', 'preact/*'],
    sourcemap: true,
  }),
  build({
    ...common,
    entryPoints: ['src/bundle-path.ts'],
    outfile: 'dist/bundle-path.js',
    format: 'esm',
    platform: 'node',
    target: 'node20',
  }),
])

const esbuilt = readFileSync(`${root}/dist/widget.js`, 'utf8')
const { code } = await minify(esbuilt, {
  ecma: 2020,
  toplevel: true,
  compress: {
    passes: 3,
    pure_getters: true,
    unsafe: true,
    unsafe_arrows: true,
    unsafe_methods: true,
  },
  mangle: true,
})
writeFileSync(`${root}/dist/widget.js`, code)
const bytes = Buffer.from(code)
const gzipped = gzipSync(bytes, { level: 9 }).length
const brotli = brotliCompressSync(bytes).length
console.log(
  `dist/widget.js: ${bytes.length} B, ${gzipped} B gzipped, ${brotli} B brotli (budget ${BUDGET_BYTES} B gzipped)`,
)
if (gzipped > BUDGET_BYTES) {
  console.error(`dist/widget.js is over its budget by ${gzipped - BUDGET_BYTES} B gzipped`)
  process.exit(1)
}
