import { describe, expect, it } from 'vitest'
import { leadGenBot, makeApp } from '../helpers.js'

async function withLeadGen(options: Parameters<typeof makeApp>[0] = {}) {
  const ctx = makeApp(options)
  expect(
    (await ctx.admin('PUT', '/webhooks/crm', { url: 'https://crm.example.com/hooks' })).status,
  ).toBe(201)
  expect((await ctx.admin('PUT', '/bots/lead-gen', leadGenBot)).status).toBe(201)
  return ctx
}

const labels = (responses: { elements: { label: string }[] }[]) =>
  responses.flatMap((instruction) => instruction.elements.map((element) => element.label))

describe('chat API', () => {
  it('gives conversations unguessable ids that sort in the order they started', async () => {
    let now = 1_800_000_000_000
    const { call } = await withLeadGen({ now: () => now })
    const ids: string[] = []
    for (const step of [0, 1, 0, 64, 86_400_000]) {
      now += step
      ids.push((await call('POST', '/api/v1/bots/lead-gen/conversations', {})).json.conversationId)
    }
    // 8 characters of time, then 128 random bits (22 base64url characters).
    for (const id of ids) expect(id).toMatch(/^c_[A-Za-z0-9_-]{29}[AQgw]$/)
    expect(new Set(ids).size).toBe(5)
    const times = ids.map((id) => id.slice(0, 10))
    expect(times[1]).toBe(times[2])
    const later = [times[0], times[1], times[3], times[4]]
    expect(new Set(later).size).toBe(4)
    expect(later.toSorted()).toEqual(later)
  })

  it('refuses a lone surrogate in a reply as in start variables, and keeps paired ones', async () => {
    const { call } = await withLeadGen()
    for (const variables of [{ a: '\ud800' }, { a: { b: ['x\udfff'] } }, { 'k\ud800': 1 }]) {
      const start = await call('POST', '/api/v1/bots/lead-gen/conversations', { variables })
      expect(start.status, JSON.stringify(variables)).toBe(400)
      expect(start.json.error.code).toBe('invalid_body')
      expect(start.json.error.message).toContain('lone surrogate')
    }
    const start = await call('POST', '/api/v1/bots/lead-gen/conversations', {})
    const id = start.json.conversationId
    for (const text of ['\ud800', 'Just browsing\udc00', '\udc00\ud800']) {
      const reply = await call('POST', `/api/v1/conversations/${id}/replies`, { text })
      expect(reply.status, JSON.stringify(text)).toBe(400)
      expect(reply.json.error.code).toBe('invalid_body')
      expect(reply.json.error.message).toContain('text: must not contain a lone surrogate')
    }
    // Nothing of the refused replies reached the conversation.
    const view = await call('GET', `/api/v1/conversations/${id}`)
    expect(view.json.messages).toHaveLength(1)
    const ok = await call('POST', `/api/v1/conversations/${id}/replies`, { text: 'Just browsing' })
    expect(ok.status).toBe(200)
    const emoji = await call('POST', `/api/v1/conversations/${id}/replies`, { text: '😀' })
    expect(emoji.status).toBe(200)
  })

  it('holds the lead-generation conversation and queues the async delivery', async () => {
    const { call, admin } = await withLeadGen()
    const start = await call('POST', '/api/v1/bots/lead-gen/conversations', {})
    expect(start.status).toBe(201)
    expect(start.json.conversationId).toMatch(/^[A-Za-z0-9_-]{22,}$/)
    expect(start.json.responses).toEqual([
      {
        type: 'text',
        delay: 0,
        elements: [{ label: 'What brings you here today?', order: 1, placeholder: null }],
      },
    ])
    expect(start.json.input).toEqual({
      type: 'buttons',
      choices: [{ label: 'Just browsing' }, { label: 'Book a demo' }],
    })
    expect(start.json.ended).toBe(false)
    const id = start.json.conversationId
    const reply = (text: string) => call('POST', `/api/v1/conversations/${id}/replies`, { text })

    const browsing = await reply('just browsing')
    expect(browsing.status).toBe(200)
    expect(labels(browsing.json.responses)).toEqual(["What's your email address?"])
    expect(browsing.json.input).toMatchObject({ type: 'email' })

    const bad = await reply('not-an-email')
    expect(bad.status).toBe(200)
    expect(bad.json.input).toMatchObject({ type: 'email' })
    expect(bad.json.responses).toHaveLength(1)

    expect((await reply('nicolas@joonbot.com')).json.input).toMatchObject({ type: 'phone' })
    const done = await reply('0612345678')
    expect(done.json).toMatchObject({ input: null, ended: true })
    expect(labels(done.json.responses)).toEqual(['Thanks! We will write to nicolas@joonbot.com.'])

    const ended = await reply('hello?')
    expect(ended.status).toBe(409)
    expect(ended.json.error.code).toBe('conversation_ended')

    const view = await call('GET', `/api/v1/conversations/${id}`)
    expect(view.status).toBe(200)
    expect(view.json).not.toHaveProperty('context')
    expect(view.json).toMatchObject({
      conversationId: id,
      botId: 'lead-gen',
      input: null,
      ended: true,
    })
    expect(view.json.messages[0]).toEqual({ from: 'bot', text: 'What brings you here today?' })
    expect(view.json.messages).toContainEqual({ from: 'user', text: 'nicolas@joonbot.com' })

    const deliveries = await admin('GET', '/deliveries?webhook=crm')
    expect(deliveries.status).toBe(200)
    expect(deliveries.json.deliveries).toHaveLength(1)
    expect(deliveries.json.deliveries[0]).toMatchObject({
      webhook: 'crm',
      conversationId: id,
      async: true,
      status: 'pending',
      attempts: 0,
      lastStatus: null,
      lastError: null,
    })
    const detail = await admin('GET', `/deliveries/${deliveries.json.deliveries[0].id}`)
    expect(JSON.parse(detail.json.body)).toEqual({
      email: 'nicolas@joonbot.com',
      phone_number: '0612345678',
      conversation:
        "Bot: What brings you here today?\nUser: just browsing\nBot: What's your email address?\nUser: not-an-email\n" +
        `Bot: ${view.json.messages[4].text}\nUser: nicolas@joonbot.com\nBot: What's your phone number?\nUser: 0612345678\n`,
    })

    const full = await admin('GET', `/conversations/${id}`)
    expect(full.json.context).toEqual({ email: 'nicolas@joonbot.com', phone_number: '0612345678' })
    expect(full.json.transcript).toContain('User: 0612345678\n')
  })

  it('starts with variables, drops reserved keys and pollutes nothing', async () => {
    const { call, admin } = await withLeadGen()
    const body =
      '{"variables":{"plan":"pro","__proto__":{"polluted":true},"constructor":1,"n":{"prototype":2,"ok":3}}}'
    const start = await call('POST', '/api/v1/bots/lead-gen/conversations', body)
    expect(start.status).toBe(201)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    const full = await admin('GET', `/conversations/${start.json.conversationId}`)
    expect(Object.keys(full.json.context)).toEqual(['plan', 'n'])
    expect(full.json.context.n).toEqual({ ok: 3 })
  })

  it('answers bad input with a clear 4xx and changes nothing', async () => {
    const { call } = await withLeadGen()
    const start = await call('POST', '/api/v1/bots/lead-gen/conversations', {})
    const replies = `/api/v1/conversations/${start.json.conversationId}/replies`

    const cases: [string, string, unknown, number, string][] = [
      ['POST', replies, '{"text":', 400, 'invalid_json'],
      ['POST', replies, '[1,2]', 400, 'invalid_body'],
      ['POST', replies, { text: 42 }, 400, 'invalid_body'],
      ['POST', replies, { text: 'hi', extra: true }, 400, 'invalid_body'],
      ['POST', replies, '', 400, 'invalid_json'],
      ['POST', replies, { text: 'x'.repeat(70_000) }, 413, 'payload_too_large'],
      ['POST', '/api/v1/conversations/nope/replies', { text: 'hi' }, 404, 'not_found'],
      ['GET', '/api/v1/conversations/nope', undefined, 404, 'not_found'],
      ['POST', '/api/v1/bots/missing/conversations', {}, 404, 'not_found'],
      ['POST', '/api/v1/bots/lead-gen/conversations', { variables: [1] }, 400, 'invalid_body'],
      ['POST', '/api/v1/bots/lead-gen/conversations', '"just a string"', 400, 'invalid_body'],
      ['GET', '/api/v1/nothing-here', undefined, 404, 'not_found'],
    ]
    for (const [method, path, body, status, code] of cases) {
      const result = await call(method, path, body)
      expect({ path, body, status: result.status, code: result.json?.error?.code }).toEqual({
        path,
        body,
        status,
        code,
      })
      expect(typeof result.json.error.message).toBe('string')
    }
    const view = await call('GET', `/api/v1/conversations/${start.json.conversationId}`)
    expect(view.json.messages).toHaveLength(1)
    expect(view.json.input).toMatchObject({ type: 'buttons' })
  })

  it('caps a chunked body without content-length at 64 KiB', async () => {
    const { app } = await withLeadGen()
    const big = new TextEncoder().encode(
      JSON.stringify({ variables: { big: 'x'.repeat(100_000) } }),
    )
    const body = new ReadableStream({
      start(controller) {
        for (let i = 0; i < big.length; i += 8192) controller.enqueue(big.slice(i, i + 8192))
        controller.close()
      },
    })
    const response = await app.request('/api/v1/bots/lead-gen/conversations', {
      method: 'POST',
      body,
      duplex: 'half',
    } as RequestInit)
    expect(response.status).toBe(413)
  })

  it('accepts a JSON body whatever its content type, and unicode text', async () => {
    const { call } = await withLeadGen()
    const start = await call('POST', '/api/v1/bots/lead-gen/conversations', undefined, {
      'content-type': 'text/plain',
    })
    expect(start.status).toBe(201)
    const reply = await call(
      'POST',
      `/api/v1/conversations/${start.json.conversationId}/replies`,
      { text: 'Book a demo 🚀 ✨ 日本語' },
      { 'content-type': 'text/plain' },
    )
    expect(reply.status).toBe(200)
    expect(reply.json.responses).toHaveLength(1)
  })

  it('answers CORS preflights for any origin', async () => {
    const { app } = await withLeadGen()
    const response = await app.request('/api/v1/bots/lead-gen/conversations', {
      method: 'OPTIONS',
      headers: {
        origin: 'https://shop.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    })
    expect(response.status).toBe(204)
    expect(response.headers.get('access-control-allow-origin')).toBe('*')
    expect(response.headers.get('access-control-allow-methods')).toBe('GET,POST')
    expect(response.headers.get('access-control-allow-headers')).toBe('content-type')
    expect(response.headers.get('access-control-max-age')).toBe('86400')
    expect(await response.text()).toBe('')
  })

  it('lets any origin read answers, errors included', async () => {
    // 6 a minute: a burst of 3, so the third request is the last one let through.
    const { app } = await withLeadGen({ rateLimit: 6 })
    const headers = { origin: 'https://shop.example', 'content-type': 'application/json' }
    const post = (path: string) => app.request(path, { method: 'POST', headers, body: '{}' })
    const unknown = await app.request('/api/v1/conversations/c_nope', { headers })
    const started = await post('/api/v1/bots/lead-gen/conversations')
    await post('/api/v1/bots/lead-gen/conversations')
    const limited = await post('/api/v1/bots/lead-gen/conversations')
    expect([started.status, limited.status, unknown.status]).toEqual([201, 429, 404])
    for (const response of [started, limited, unknown]) {
      expect(response.headers.get('access-control-allow-origin')).toBe('*')
      expect(response.headers.get('content-type')).toMatch(/^application\/json/)
    }
  })

  it('rate-limits per client address with 429 and Retry-After', async () => {
    const { call } = await withLeadGen({ rateLimit: 4 })
    const statuses: number[] = []
    let last: Awaited<ReturnType<typeof call>> | undefined
    for (let i = 0; i < 4; i++) {
      last = await call(
        'POST',
        '/api/v1/bots/lead-gen/conversations',
        {},
        { 'x-forwarded-for': '203.0.113.9' },
      )
      statuses.push(last.status)
    }
    expect(statuses).toEqual([201, 201, 429, 429])
    expect(last?.json.error.code).toBe('rate_limited')
    expect(Number(last?.headers.get('retry-after'))).toBeGreaterThan(0)
    const other = await call(
      'POST',
      '/api/v1/bots/lead-gen/conversations',
      {},
      { 'x-forwarded-for': '203.0.113.10' },
    )
    expect(other.status).toBe(201)
  })

  it('rate-limits replies per conversation', async () => {
    const { call } = await withLeadGen({ conversationRateLimit: 2 })
    const start = await call('POST', '/api/v1/bots/lead-gen/conversations', {})
    const path = `/api/v1/conversations/${start.json.conversationId}/replies`
    expect((await call('POST', path, { text: 'nope' })).status).toBe(200)
    expect((await call('POST', path, { text: 'nope' })).status).toBe(429)
  })

  it('serves health, and 503 when the store cannot answer', async () => {
    const { call, store } = makeApp()
    expect(await call('GET', '/healthz')).toMatchObject({ status: 200, json: { status: 'ok' } })
    store.ping = () => Promise.reject(new Error('disk gone'))
    expect(await call('GET', '/healthz')).toMatchObject({
      status: 503,
      json: { status: 'unavailable' },
    })
  })
})
