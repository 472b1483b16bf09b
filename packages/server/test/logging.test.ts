import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { jsonLogger, levelOf } from '../src/logging.js'
import { type RunningServer, startNodeServer } from '../src/node.js'
import { MemoryStore } from '../src/store/memory.js'
import { bodyOf, leadGenBot } from './helpers.js'

describe('jsonLogger', () => {
  it('writes one JSON line per event at or above the level, with time, level and event first', () => {
    const lines: string[] = []
    const logger = jsonLogger({
      level: 'warn',
      write: (line) => lines.push(line),
      now: () => new Date(0),
    })
    logger.log('delivery.failed', { webhook: 'crm' })
    logger.log('http.error', { path: '/x' })
    logger.log('delivery.retry_scheduled', { webhook: 'crm' })
    logger.log('http.request', { path: '/x' })
    expect(lines).toEqual([
      '{"time":"1970-01-01T00:00:00.000Z","level":"warn","event":"delivery.failed","webhook":"crm"}',
      '{"time":"1970-01-01T00:00:00.000Z","level":"error","event":"http.error","path":"/x"}',
    ])
    expect(logger.enabled('error')).toBe(true)
    expect(logger.enabled('info')).toBe(false)
    expect(levelOf('something.new')).toBe('info')
  })
})

describe('request ids through the Node server', () => {
  const logged: { event: string; fields: Record<string, unknown> }[] = []
  let server: RunningServer
  const ADMIN = 'logging-admin-token-0123456789'
  beforeAll(async () => {
    server = await startNodeServer({
      store: new MemoryStore(),
      port: 0,
      host: '127.0.0.1',
      adminToken: ADMIN,
      rateLimit: 0,
      logRequests: true,
      log: (event, fields) => logged.push({ event, fields }),
    })
  })
  afterAll(() => server.close())
  const request = (method: string, path: string, body?: unknown, headers = {}) =>
    fetch(`${server.url}${path}`, {
      method,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}`, ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })

  it('answers with the id a proxy sent, and puts it on every line of that request', async () => {
    await request('PUT', '/api/v1/admin/webhooks/crm', { url: 'https://crm.example/hook' })
    expect((await request('PUT', '/api/v1/admin/bots/lead-gen', leadGenBot)).status).toBe(201)
    const started = await bodyOf(await request('POST', '/api/v1/bots/lead-gen/conversations', {}))
    expect((await request('DELETE', '/api/v1/admin/bots/lead-gen')).status).toBe(204)
    // The bot is gone: the reply ends the conversation, and that is logged in its request.
    const reply = await request(
      'POST',
      `/api/v1/conversations/${started.conversationId}/replies`,
      { text: 'Just browsing' },
      { 'x-request-id': 'nginx-7f3a9c' },
    )
    expect(reply.status).toBe(200)
    expect(reply.headers.get('x-request-id')).toBe('nginx-7f3a9c')
    const gone = logged.find((line) => line.event === 'conversation.bot_gone')
    expect(gone?.fields).toMatchObject({ requestId: 'nginx-7f3a9c', botId: 'lead-gen' })
    const access = logged.filter(
      (line) => line.event === 'http.request' && line.fields.requestId === 'nginx-7f3a9c',
    )
    expect(access.map((line) => line.fields)).toEqual([
      {
        requestId: 'nginx-7f3a9c',
        method: 'POST',
        path: `/api/v1/conversations/${started.conversationId}/replies`,
        status: 200,
        ms: expect.any(Number),
      },
    ])
  })

  it('makes an id when none or a strange one is sent, a different one each time', async () => {
    const ids = new Set<string>()
    for (const sent of [undefined, 'a b<script>', 'x'.repeat(500)]) {
      const response = await request(
        'GET',
        '/healthz',
        undefined,
        sent ? { 'x-request-id': sent } : {},
      )
      const id = response.headers.get('x-request-id') ?? ''
      expect(id).toMatch(/^req_[\w-]+$/)
      ids.add(id)
    }
    expect(ids.size).toBe(3)
  })
})
