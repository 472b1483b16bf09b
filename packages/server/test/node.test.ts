import { connect } from 'node:net'
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

  it('lets any site read chat answers through the Node adapter: JSON, errors, streams, preflights', async () => {
    const store = new MemoryStore()
    await store.putBot({
      id: 'hello',
      start: 'ask',
      blocks: [{ id: 'ask', type: 'question', answer: 'text', text: 'Hi?', saveAnswerTo: 'a' }],
    })
    const chat = await startNodeServer({ store, port: 0, host: '127.0.0.1' })
    try {
      const origin = { origin: 'https://shop.example' }
      const post = (path: string, headers: Record<string, string> = {}) =>
        fetch(`${chat.url}${path}`, {
          method: 'POST',
          body: '{}',
          headers: { ...origin, ...headers },
        })
      const started = await post('/api/v1/bots/hello/conversations')
      const streamed = await post('/api/v1/bots/hello/conversations', {
        accept: 'text/event-stream',
      })
      const missing = await post('/api/v1/bots/nobot/conversations')
      const preflight = await fetch(`${chat.url}/api/v1/bots/hello/conversations`, {
        method: 'OPTIONS',
        headers: { ...origin, 'access-control-request-method': 'POST' },
      })
      expect([started, streamed, missing, preflight].map((r) => r.status)).toEqual([
        201, 201, 404, 204,
      ])
      expect(streamed.headers.get('content-type')).toContain('text/event-stream')
      expect(preflight.headers.get('access-control-allow-methods')).toBe('GET,POST')
      for (const response of [started, streamed, missing, preflight]) {
        expect(response.headers.get('access-control-allow-origin')).toBe('*')
        // Each header once: a copied response would not repeat it, but a joined value would.
        expect(response.headers.get('x-request-id')).toMatch(/^req_[^,]+$/)
      }
      expect(((await started.json()) as { conversationId: string }).conversationId).toMatch(/^c_/)
      await streamed.text()
    } finally {
      await chat.close()
    }
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

  it('reads bodies straight from the socket: JSON, empty, bad JSON, bad UTF-8, too large', async () => {
    const post = (path: string, body: RequestInit['body'], headers: Record<string, string> = {}) =>
      fetch(`${server.url}${path}`, {
        method: 'POST',
        body,
        headers,
        duplex: 'half',
      } as RequestInit)
    // No bot registered: a parsed body gets as far as the bot lookup (404).
    expect((await post('/api/v1/bots/nobot/conversations', '{"variables":{"a":1}}')).status).toBe(
      404,
    )
    expect((await post('/api/v1/bots/nobot/conversations', undefined)).status).toBe(404)
    const bad = await post('/api/v1/bots/nobot/conversations', '{"variables":')
    expect(bad.status).toBe(400)
    expect((await bodyOf(bad)).error.code).toBe('invalid_json')
    const latin1 = await post(
      '/api/v1/bots/nobot/conversations',
      new Uint8Array([0x7b, 0xff, 0x7d]),
    )
    expect((await bodyOf(latin1)).error.code).toBe('invalid_json')
    // Chunked, no content-length: cut while streaming, and the 413 still reaches the client.
    const chunk = new TextEncoder().encode('x'.repeat(16 * 1024))
    let sent = 0
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 64) controller.enqueue(chunk)
        else controller.close()
      },
    })
    const large = await post('/api/v1/bots/nobot/conversations', stream)
    expect(large.status).toBe(413)
    expect((await bodyOf(large)).error.code).toBe('payload_too_large')
    // A client that hangs up halfway through its body changes nothing and breaks nothing.
    const { port } = new URL(server.url)
    await new Promise<void>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => {
        socket.write(
          'POST /api/v1/bots/nobot/conversations HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n{"var',
        )
        setTimeout(() => socket.destroy(), 50)
      })
      socket.on('close', () => resolve())
      socket.on('error', reject)
    })
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200)
  })
})
