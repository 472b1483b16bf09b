// Builds dist/widget.js (the script-tag bundle: IIFE, Preact inside, minified),
// dist/index.js (ESM for bundlers, Preact external) and dist/bundle-path.js.
// Types come from `tsc -p tsconfig.build.json` (declarations only).
// Fails when the script-tag bundle is over its budget: 12 KB gzipped (level 9).
// terser runs after esbuild on the script-tag bundle only: its extra passes, and its renaming
// of Preact's private properties, make it smaller than esbuild alone (README, Layout).
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { brotliCompressSync, gzipSync } from 'node:zlib'
import { build } from 'esbuild'
import { minify } from 'terser'

export const BUDGET_BYTES = 12 * 1024
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
    // Syntax of 2022 at most: class fields, `#private` members (Safari 15+), nothing newer.
    target: 'es2022',
    minify: true,
    // Classic JSX, `h(type, props, ...children)` (scripts/jsx-runtime.js): no `children` arrays.
    // The tsconfig's react-jsx would win over build options, so this build gets its own
    // (strict, as that one is).
    tsconfigRaw: {
      compilerOptions: {
        strict: true,
        jsx: 'react',
        jsxFactory: 'h',
        jsxFragmentFactory: 'Fragment',
      },
    },
    inject: ['./scripts/jsx-runtime.js'],
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
  // Preact's private properties (`__k`, `__e`, …, its own convention) get one or two letters;
  // `__html` is public (dangerouslySetInnerHTML). Our own private members are `#private`.
  mangle: { properties: { regex: /^__/, reserved: ['__html'] } },
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
