import type { ServerResponse } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RunningServer, startNodeServer } from '../../src/node.js'
import { MemoryStore } from '../../src/store/memory.js'
import { bodyOf, startReceiver } from '../helpers.js'
import { eventsOf, type ServerEvent } from '../sse-events.js'

const ADMIN = 'streaming-admin-token-0123456789'

const label = (event: ServerEvent) =>
  (event.data as { elements: { label: string }[] }).elements[0]!.label

/** A promise and the function that resolves it. */
function gate() {
  let open = () => {}
  const opened = new Promise<void>((resolve) => {
    open = resolve
  })
  return { open, opened }
}

describe('turns as Server-Sent Events, with a webhook that streams its reply', () => {
  let server: RunningServer
  let receiver: Awaited<ReturnType<typeof startReceiver>>
  /** What the next webhook call does with its (already started) answer. */
  let answer: (response: ServerResponse) => Promise<void>

  beforeAll(async () => {
    receiver = await startReceiver((_request, _body, response) => void answer(response))
    server = await startNodeServer({
      store: new MemoryStore(),
      port: 0,
      host: '127.0.0.1',
      adminToken: ADMIN,
      rateLimit: 0,
      allowPrivateUrls: true,
    })
    await admin('PUT', '/webhooks/orders', { url: `${receiver.url}/orders`, timeoutMs: 5_000 })
    await admin('PUT', '/bots/shop', {
      id: 'shop',
      start: 'hello',
      blocks: [
        { id: 'hello', type: 'text', text: 'Let me check your order…', next: 'lookup' },
        { id: 'lookup', type: 'webhook', webhook: 'orders', next: 'status', onError: 'sorry' },
        { id: 'status', type: 'text', text: 'It is {{status}}.', next: 'ask' },
        { id: 'sorry', type: 'text', text: 'The order service broke off.', next: 'ask' },
        { id: 'ask', type: 'question', answer: 'text', text: 'Anything else?', next: 'hello' },
      ],
    })
  })
  afterAll(async () => {
    await server.close()
    await receiver.close()
  })

  function request(method: string, path: string, body?: unknown, accept = 'application/json') {
    return fetch(`${server.url}${path}`, {
      method,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}`, accept },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
  }
  async function admin(method: string, path: string, body: unknown) {
    expect((await request(method, `/api/v1/admin${path}`, body)).status).toBeLessThan(300)
  }
  const start = () => request('POST', '/api/v1/bots/shop/conversations', {}, 'text/event-stream')

  it('sends each instruction as soon as it is known, the webhook’s as they stream in', async () => {
    // The webhook sends one instruction, then waits for the test to have seen it, and the text
    // before the call: a turn answered at its end would never open the gate (the test fails by
    // timing out, not by a measured duration).
    const seen = gate()
    answer = async (response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' })
      response.write(
        `data: ${JSON.stringify({ type: 'text', delay: 300, elements: [{ label: 'Found it.', order: 1 }] })}\n\n`,
      )
      await seen.opened
      response.write(`event: variables\ndata: {"status":"shipped"}\n\n`)
      response.end()
    }
    const response = await start()
    expect(response.status).toBe(201)
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/)
    expect(response.headers.get('x-accel-buffering')).toBe('no')
    const events: ServerEvent[] = []
    for await (const event of eventsOf(response)) {
      events.push(event)
      if (events.length === 2) seen.open()
    }
    expect(events.map((e) => e.event)).toEqual([
      'instruction',
      'instruction',
      'instruction',
      'instruction',
      'done',
    ])
    expect(events.slice(0, 4).map(label)).toEqual([
      'Let me check your order…',
      'Found it.',
      'It is shipped.',
      'Anything else?',
    ])
    expect((events[1]!.data as { delay: number }).delay).toBe(300)
    const done = events[4]!.data as { conversationId: string; input: unknown; ended: boolean }
    expect(done).toEqual({
      conversationId: expect.stringMatching(/^c_/),
      input: { type: 'text' },
      ended: false,
    })
    // Saved as without a stream.
    const shown = await bodyOf(await request('GET', `/api/v1/conversations/${done.conversationId}`))
    expect(shown.messages.map((m: { text: string }) => m.text)).toEqual([
      'Let me check your order…',
      'Found it.',
      'It is shipped.',
      'Anything else?',
    ])
  })

  it('keeps what a webhook stream said before it broke off, then takes onError', async () => {
    answer = async (response) => {
      response.writeHead(200, { 'content-type': 'application/x-ndjson' })
      response.write(
        `${JSON.stringify({ type: 'text', elements: [{ label: 'Half', order: 1 }] })}\n`,
      )
      setTimeout(() => response.socket?.destroy(), 50)
    }
    const events: ServerEvent[] = []
    for await (const event of eventsOf(await start())) events.push(event)
    expect(events.filter((e) => e.event === 'instruction').map(label)).toEqual([
      'Let me check your order…',
      'Half',
      'The order service broke off.',
      'Anything else?',
    ])
    expect(events.at(-1)).toMatchObject({ event: 'done', data: { ended: false } })
  })

  it('finishes and saves the turn of a client that went away mid-stream', async () => {
    const later = gate()
    answer = async (response) => {
      await later.opened
      response.writeHead(200, { 'content-type': 'application/json' })
      response.end('{"status":"delivered"}')
    }
    const abort = new AbortController()
    const response = await fetch(`${server.url}/api/v1/bots/shop/conversations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: '{}',
      signal: abort.signal,
    })
    const first = await eventsOf(response).next()
    expect(label(first.value as ServerEvent)).toBe('Let me check your order…')
    abort.abort()
    later.open()
    // Saved once the webhook answered, though nobody was listening any more.
    let texts: string[] = []
    for (let i = 0; i < 100 && texts.length === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20))
      const found = await bodyOf(await request('GET', '/api/v1/admin/conversations?q=delivered'))
      const id = found.conversations[0]?.conversationId
      if (id) {
        const shown = await bodyOf(await request('GET', `/api/v1/conversations/${id}`))
        texts = shown.messages.map((m: { text: string }) => m.text)
      }
    }
    expect(texts).toEqual(['Let me check your order…', 'It is delivered.', 'Anything else?'])
  })

  it('answers a refused turn with the usual JSON error, and a plain JSON turn as before', async () => {
    const unknown = await request(
      'POST',
      '/api/v1/bots/nope/conversations',
      {},
      'text/event-stream',
    )
    expect(unknown.status).toBe(404)
    expect(await unknown.json()).toMatchObject({ error: { code: 'not_found' } })

    answer = async (response) => {
      response.writeHead(200, { 'content-type': 'application/json' })
      response.end('{"status":"lost"}')
    }
    const plain = await request('POST', '/api/v1/bots/shop/conversations', {})
    expect(plain.headers.get('content-type')).toMatch(/^application\/json/)
    const started = await bodyOf(plain)
    expect(
      started.responses.map((r: { elements: { label: string }[] }) => r.elements[0]!.label),
    ).toEqual(['Let me check your order…', 'It is lost.', 'Anything else?'])
    const replied = await request(
      'POST',
      `/api/v1/conversations/${started.conversationId}/replies`,
      { text: 'no' },
      'text/event-stream',
    )
    expect(replied.status).toBe(200)
    const events: ServerEvent[] = []
    for await (const event of eventsOf(replied)) events.push(event)
    expect(events.at(-1)).toEqual({
      event: 'done',
      data: { input: { type: 'text' }, ended: false },
    })
  })
})
