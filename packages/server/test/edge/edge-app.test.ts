import { describe, expect, it } from 'vitest'
import { createEdgeApp } from '../../src/edge.js'
import { VERSION } from '../../src/version.js'
import { bodyOf } from '../helpers.js'

describe('createEdgeApp', () => {
  it("calls sync webhooks through the platform's fetch with the protocol headers", async () => {
    const seen: Headers[] = []
    const fetchStub = (async (_url: string | URL | Request, init?: RequestInit) => {
      seen.push(new Headers(init?.headers))
      return new Response('{"plan":"pro"}', { status: 200 })
    }) as typeof fetch
    const app = createEdgeApp({ fetch: fetchStub, adminToken: 't', rateLimit: 0 })
    const admin = (path: string, body: unknown) =>
      app.request(`/api/v1/admin${path}`, {
        method: 'PUT',
        headers: { authorization: 'Bearer t' },
        body: JSON.stringify(body),
      })
    expect((await admin('/webhooks/plans', { url: 'https://api.example.com/plan' })).status).toBe(
      201,
    )
    const bot = {
      id: 'edge',
      start: 'call',
      blocks: [
        { id: 'call', type: 'webhook', webhook: 'plans', next: 'show' },
        { id: 'show', type: 'text', text: 'Plan: {{plan}}' },
      ],
    }
    expect((await admin('/bots/edge', bot)).status).toBe(201)
    const start = await app.request('/api/v1/bots/edge/conversations', {
      method: 'POST',
      body: '{}',
    })
    const body = await bodyOf(start)
    expect(body.responses[0].elements[0].label).toBe('Plan: pro')
    expect(seen[0]?.get('user-agent')).toBe(`joon/${VERSION}`)
    expect(seen[0]?.get('webhook-id')).toMatch(/^msg_/)
    expect(seen[0]?.get('content-type')).toBe('application/json')
  })
})
