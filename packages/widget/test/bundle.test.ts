import { readFileSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { widgetBundlePath } from '../src/bundle-path.ts'

// test/global-setup.ts has just built dist/ from the current source.
// The build's own limit (scripts/build.mjs), checked again on what it wrote: 12 KB gzipped.
const BUDGET = 12 * 1024

describe('the script-tag bundle', () => {
  const bundle = readFileSync(widgetBundlePath)

  it(`is at most ${BUDGET} bytes gzipped`, () => {
    const gzipped = gzipSync(bundle, { level: 9 }).length
    console.log(`dist/widget.js: ${bundle.length} B, ${gzipped} B gzipped`)
    expect(gzipped).toBeLessThanOrEqual(BUDGET)
  })

  it('carries Preact but none of the runtime of @joon/core (zod, libphonenumber)', () => {
    const text = bundle.toString('utf8')
    expect(text).toContain('adoptedStyleSheets')
    expect(text).not.toMatch(/ZodError|libphonenumber|\$ZodType/)
  })

  it('is found through widgetBundlePath from the source and from dist alike', async () => {
    expect(widgetBundlePath).toMatch(/[/\\]packages[/\\]widget[/\\]dist[/\\]widget\.js$/)
    const built = (await import('../dist/bundle-path.js' as string)) as { widgetBundlePath: string }
    expect(built.widgetBundlePath).toBe(widgetBundlePath)
  })
})
