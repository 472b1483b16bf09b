// Builds the console: one ES module (Preact, @joon/core's validation and the widget inside)
// and one stylesheet, so the page needs nothing inline and runs under a strict CSP.
import { mkdir, readFile } from 'node:fs/promises'
import { gzipSync } from 'node:zlib'
import { build } from 'esbuild'

const root = new URL('..', import.meta.url)
const dist = new URL('dist/', root)
await mkdir(dist, { recursive: true })

/**
 * zod's JSON Schema generation, which every zod schema links to but the console never runs
 * (it validates bots; the JSON Schema ships as a file): left out, 4.5 KB gzipped, which keeps
 * the whole console under its 150 KB budget. Calling it in the console would throw.
 */
const withoutJsonSchema = {
  name: 'zod-without-json-schema',
  setup(build) {
    const stubbed =
      /[\\/]zod[\\/]v4[\\/]core[\\/](to-json-schema|json-schema-processors|json-schema-generator)\.js$/
    build.onLoad({ filter: stubbed }, async ({ path }) => {
      // The same export names, each a function that makes functions that throw.
      const source = await readFile(path, 'utf8')
      const names = new Set()
      for (const [, name] of source.matchAll(/export (?:const|function|class) (\w+)/g))
        names.add(name)
      for (const [, list] of source.matchAll(/export \{([^}]*)\}/g)) {
        for (const part of list.split(',')) {
          const name = part
            .split(/\s+as\s+/)
            .pop()
            ?.trim()
          if (name) names.add(name)
        }
      }
      const body = [...names].map((name) => `export const ${name} = unavailable`).join('\n')
      return {
        loader: 'js',
        contents: `function unavailable() { return () => { throw new Error('zod JSON Schema is not in the console') } }\n${body}`,
      }
    })
  },
}

await build({
  plugins: [withoutJsonSchema],
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
  // React Flow is written for React; Preact's compat layer runs it (a fraction of React's size).
  alias: {
    react: 'preact/compat',
    'react-dom': 'preact/compat',
    'react/jsx-runtime': 'preact/jsx-runtime',
  },
  minify: true,
  legalComments: 'none',
  define: { 'process.env.NODE_ENV': '"production"' },
  logLevel: 'warning',
})
// One stylesheet: React Flow's structural base (imported at the top of ours), then ours.
await build({
  entryPoints: [new URL('src/console.css', root).pathname],
  outfile: new URL('console.css', dist).pathname,
  bundle: true,
  minify: true,
  legalComments: 'none',
  target: ['chrome111', 'firefox111', 'safari16.4'],
  logLevel: 'warning',
})

if (process.argv.includes('--report') || !process.env.CI) {
  for (const file of ['console.js', 'console.css']) {
    const body = await readFile(new URL(file, dist))
    const kb = (n) => `${(n / 1024).toFixed(1)} KB`
    console.log(`${file}: ${kb(body.length)} minified, ${kb(gzipSync(body).length)} gzipped`)
  }
}
