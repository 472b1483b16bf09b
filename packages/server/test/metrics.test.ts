import parsePrometheusTextFormat from 'parse-prometheus-text-format'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../src/app.js'
import { type RunningServer, startNodeServer } from '../src/node.js'
import { MemoryStore } from '../src/store/memory.js'
import { waitFor } from './async/support.js'
import { bodyOf, json, startReceiver } from './helpers.js'

interface Family {
  name: string
  type: string
  metrics: {
    labels?: Record<string, string>
    value?: string
    buckets?: Record<string, string>
    count?: string
  }[]
}

const ADMIN = 'metrics-admin-token-0123456789'
const SCRAPER = 'metrics-scraper-token-0123456789'

/** The bot: an answer, a synchronous call whose reply is merged, then an asynchronous one. */
const bot = {
  id: 'shop',
  start: 'ask',
  blocks: [
    {
      id: 'ask',
      type: 'question',
      text: 'Order number?',
      answer: 'text',
      saveAnswerTo: 'order',
      next: 'look',
    },
    { id: 'look', type: 'webhook', webhook: 'orders', next: 'notify' },
    { id: 'notify', type: 'webhook', webhook: 'crm', async: true, next: 'bye' },
    { id: 'bye', type: 'text', text: 'Order {{order}}: {{status}}.' },
  ],
}

describe('GET /metrics (Prometheus text format) after real traffic', () => {
  let server: RunningServer
  let receiver: Awaited<ReturnType<typeof startReceiver>>
  const call = (path: string, init: RequestInit = {}) => fetch(`${server.url}${path}`, init)
  const post = (path: string, body: unknown, token?: string) =>
    call(path, {
      method: token ? 'PUT' : 'POST',
      headers: {
        'content-type': 'application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify(body),
    })
  const scrape = async (token: string) => {
    const response = await call('/metrics', { headers: { authorization: `Bearer ${token}` } })
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toContain('text/plain')
    return parsePrometheusTextFormat(await response.text()) as Family[]
  }
  const family = (families: Family[], name: string) => {
    const found = families.find((candidate) => candidate.name === name)
    if (!found) throw new Error(`no metric family ${name}`)
    return found
  }
  const value = (families: Family[], name: string, labels: Record<string, string> = {}) =>
    Number(
      family(families, name).metrics.find((metric) =>
        Object.entries(labels).every(([key, wanted]) => metric.labels?.[key] === wanted),
      )?.value ?? Number.NaN,
    )

  beforeAll(async () => {
    receiver = await startReceiver((request, _body, response) => {
      if (request.url?.startsWith('/orders')) json(response, 200, { status: 'shipped' })
      else json(response, 200, {})
    })
    server = await startNodeServer({
      store: new MemoryStore(),
      port: 0,
      host: '127.0.0.1',
      adminToken: ADMIN,
      metricsToken: SCRAPER,
      allowPrivateUrls: true,
      rateLimit: 0,
    })
    expect(
      (await post('/api/v1/admin/webhooks/orders', { url: `${receiver.url}/orders` }, ADMIN))
        .status,
    ).toBe(201)
    expect(
      (await post('/api/v1/admin/webhooks/crm', { url: `${receiver.url}/crm` }, ADMIN)).status,
    ).toBe(201)
    expect((await post('/api/v1/admin/bots/shop', bot, ADMIN)).status).toBe(201)
    for (let i = 0; i < 3; i++) {
      const started = await bodyOf(await post('/api/v1/bots/shop/conversations', {}))
      const reply = await bodyOf(
        await post(`/api/v1/conversations/${started.conversationId}/replies`, { text: `A${i}` }),
      )
      expect(reply.ended).toBe(true)
    }
    // A reply to an ended conversation: 409 before any turn runs, so not a turn.
    const started = await bodyOf(await post('/api/v1/bots/shop/conversations', {}))
    await post(`/api/v1/conversations/${started.conversationId}/replies`, { text: 'B' })
    expect(
      (await post(`/api/v1/conversations/${started.conversationId}/replies`, { text: 'C' })).status,
    ).toBe(409)
    await waitFor(
      'the 4 asynchronous deliveries',
      () => receiver.requests.filter((request) => request.url.startsWith('/crm')).length === 4,
    )
  })
  afterAll(async () => {
    await server?.close()
    await receiver?.close()
  })

  it('counts turns, webhook calls, the queue and the process, parsed by a Prometheus parser', async () => {
    let families: Family[] = []
    // The worker records an attempt just after the receiver has answered it.
    await waitFor('the async calls counted', async () => {
      families = await scrape(SCRAPER)
      return value(families, 'joon_webhook_calls_total', { webhook: 'crm', mode: 'async' }) === 4
    })
    expect(value(families, 'joon_turns_total', { bot: 'shop', outcome: 'waiting' })).toBe(4)
    expect(value(families, 'joon_turns_total', { bot: 'shop', outcome: 'ended' })).toBe(4)
    expect(value(families, 'joon_turns_total', { bot: 'shop', outcome: 'conflict' })).toBeNaN()
    expect(family(families, 'joon_turn_duration_seconds').type).toBe('HISTOGRAM')
    // Every turn is in the histogram's last bucket (this parser drops a histogram's labels).
    const turnLatency = family(families, 'joon_turn_duration_seconds').metrics[0]
    expect(turnLatency?.buckets?.['+Inf']).toBe('8')
    expect(
      value(families, 'joon_webhook_calls_total', {
        webhook: 'orders',
        mode: 'sync',
        result: 'delivered',
      }),
    ).toBe(4)
    expect(
      value(families, 'joon_webhook_calls_total', {
        webhook: 'crm',
        mode: 'async',
        result: 'delivered',
      }),
    ).toBe(4)
    expect(family(families, 'joon_webhook_call_duration_seconds').type).toBe('HISTOGRAM')
    expect(value(families, 'joon_deliveries_pending')).toBe(0)
    expect(value(families, 'joon_delivery_lag_seconds')).toBe(0)
    expect(value(families, 'process_cpu_user_seconds_total')).toBeGreaterThan(0)
    expect(family(families, 'nodejs_eventloop_lag_seconds').type).toBe('GAUGE')
  })

  it('is for the admin or metrics token only, and off without either', async () => {
    expect((await scrape(ADMIN)).length).toBeGreaterThan(10)
    expect((await call('/metrics')).status).toBe(401)
    const wrong = await call('/metrics', { headers: { authorization: 'Bearer nope' } })
    expect(wrong.status).toBe(401)
    const app = createApp({ store: new MemoryStore() })
    const off = await app.request('/metrics', { headers: { authorization: 'Bearer x' } })
    expect(off.status).toBe(404)
    expect((await bodyOf(off)).error.code).toBe('metrics_disabled')
    // The edge runtime has no metrics, whatever the token.
    const edge = createApp({ store: new MemoryStore(), adminToken: ADMIN })
    const none = await edge.request('/metrics', { headers: { authorization: `Bearer ${ADMIN}` } })
    expect(none.status).toBe(404)
  })
})
