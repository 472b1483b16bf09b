import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RunningServer, startNodeServer } from '../src/node.js'
import { MemoryStore } from '../src/store/memory.js'
import { bodyOf } from './helpers.js'

describe('startNodeServer', () => {
  let server: RunningServer
  beforeAll(async () => {
    server = await startNodeServer({ store: new MemoryStore(), port: 0, host: '127.0.0.1' })
  })
  afterAll(() => server.close())

  it('serves the widget bundle with an ETag, 304 and CORS', async () => {
    const response = await fetch(`${server.url}/widget.js`, {
      headers: { origin: 'https://shop.example' },
    })
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toContain('javascript')
    expect(response.headers.get('access-control-allow-origin')).toBe('*')
    expect((await response.text()).length).toBeGreaterThan(1000)
    const etag = response.headers.get('etag') ?? ''
    expect(etag).toMatch(/^".+"$/)
    const again = await fetch(`${server.url}/widget.js`, { headers: { 'if-none-match': etag } })
    expect(again.status).toBe(304)
  })

  it('serves the operator console at /admin under a strict CSP', async () => {
    const response = await fetch(`${server.url}/admin`)
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toContain('text/html')
    expect(response.headers.get('content-security-policy')).toContain("script-src 'self'")
    expect(await response.text()).toContain('console.js')
    expect((await fetch(`${server.url}/admin/console.js`)).status).toBe(200)
    const missing = await fetch(`${server.url}/admin/nope`)
    expect(missing.status).toBe(404)
    expect((await bodyOf(missing)).error.code).toBe('not_found')
  })

  it('closes once, however often asked', async () => {
    const other = await startNodeServer({ store: new MemoryStore(), port: 0, host: '127.0.0.1' })
    await Promise.all([other.close(), other.close()])
    await expect(fetch(`${other.url}/healthz`)).rejects.toThrow()
  })

  it('rate-limits by socket address, or by X-Forwarded-For only when told to trust a proxy', async () => {
    const statusesFor = async (trustProxy: boolean) => {
      const limited = await startNodeServer({
        store: new MemoryStore(),
        port: 0,
        host: '127.0.0.1',
        rateLimit: 2, // bursts of one request
        trustProxy,
      })
      const statuses: number[] = []
      for (const address of ['203.0.113.1', '203.0.113.2']) {
        const response = await fetch(`${limited.url}/api/v1/conversations/unknown`, {
          headers: { 'x-forwarded-for': address },
        })
        statuses.push(response.status)
      }
      await limited.close()
      return statuses
    }
    expect(await statusesFor(false)).toEqual([404, 429])
    expect(await statusesFor(true)).toEqual([404, 404])
  })
})
