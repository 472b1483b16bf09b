import { readdirSync, readFileSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { CONSOLE_CSP, consoleAssets, consoleHandler } from '../src/assets.js'

// dist/ is built by the global setup.
describe('consoleHandler', () => {
  const handle = consoleHandler()
  const get = (path: string, init?: RequestInit) =>
    handle(new Request(`http://joon.test${path}`, init))

  it('serves the page, script and stylesheet with the strict CSP', async () => {
    for (const [path, type] of [
      ['/admin', 'text/html'],
      ['/admin/', 'text/html'],
      ['/admin/console.js', 'text/javascript'],
      ['/admin/console.css', 'text/css'],
    ] as const) {
      const response = get(path)
      expect(response?.status, path).toBe(200)
      expect(response?.headers.get('content-type')).toContain(type)
      expect(response?.headers.get('content-security-policy')).toBe(CONSOLE_CSP)
      expect(response?.headers.get('x-content-type-options')).toBe('nosniff')
      expect((await response?.text())?.length).toBeGreaterThan(100)
    }
    expect(CONSOLE_CSP).toContain("script-src 'self'")
    expect(CONSOLE_CSP).toContain("frame-ancestors 'none'")
  })

  it('leaves every other path to the server', () => {
    expect(get('/admin/other.js')).toBeNull()
    expect(get('/administrator')).toBeNull()
    expect(get('/api/v1/admin/webhooks')).toBeNull()
    expect(get('/admin', { method: 'POST' })).toBeNull()
  })

  it('answers 304 to a matching etag, and HEAD without a body', async () => {
    const etag = get('/admin/console.js')?.headers.get('etag') ?? ''
    expect(etag).toMatch(/^"[\w-]{27}"$/)
    const cached = get('/admin/console.js', { headers: { 'if-none-match': etag } })
    expect(cached?.status).toBe(304)
    expect(await cached?.text()).toBe('')
    const head = get('/admin', { method: 'HEAD' })
    expect(head?.status).toBe(200)
    expect(await head?.text()).toBe('')
  })
})

describe('consoleAssets', () => {
  it('writes a page with nothing inline, linking the files under its base path', () => {
    const { html } = consoleAssets({ basePath: '/ops/console/' })
    expect(html.body).toMatch(
      /<script type="module" src="\/ops\/console\/console\.js\?v=[\w-]+"><\/script>/,
    )
    expect(html.body).toMatch(
      /<link rel="stylesheet" href="\/ops\/console\/console\.css\?v=[\w-]+">/,
    )
    // No inline script or style: every <script> has a src, and there is no style anywhere.
    expect(html.body.match(/<script(?![^>]*\ssrc=)/g)).toBeNull()
    expect(html.body).not.toMatch(/<style|\sstyle=/)
  })

  it('refuses a base path that is not a plain URL path', () => {
    expect(() => consoleAssets({ basePath: 'admin' })).toThrow(TypeError)
    expect(() => consoleAssets({ basePath: '/a"><script>' })).toThrow(TypeError)
  })

  it('keeps the whole console under 155 KB gzipped', () => {
    const { js, css } = consoleAssets()
    // Preact, React Flow (on preact/compat), dagre and @joon/core's validation (zod) together;
    // measured: 146 KB of script and 6.5 KB of style, gzipped (148.6 KB in all before the AI
    // block's settings and the Models page, which added 4.1 KB).
    const gzipped = (text: string) => gzipSync(text, { level: 9 }).length
    expect(gzipped(js.body) + gzipped(css.body)).toBeLessThan(155 * 1024)
  })
})

describe('the console source', () => {
  it('never turns a string into markup', () => {
    const dir = new URL('../src/', import.meta.url)
    const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((file) =>
      /\.tsx?$/.test(file),
    )
    expect(files.length).toBeGreaterThan(10)
    const offenders = files.filter((file) =>
      /innerHTML|outerHTML|insertAdjacentHTML|dangerouslySetInnerHTML|document\.write|\beval\(|new Function/.test(
        readFileSync(new URL(file, dir), 'utf8'),
      ),
    )
    expect(offenders).toEqual([])
  })
})
