import { describe, expect, it } from 'vitest'
import { MemoryStore } from '../../src/store/memory.js'
import { makeApp } from '../helpers.js'

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'
const hook = {
  url: 'https://crm.example.com/hooks',
  headers: { 'X-Api-Key': 'key-1234567890-c3f9', 'X-Short': 'abc' },
  secret: SECRET,
}

describe('webhook secrets in the admin API', () => {
  it('reads secrets and header values masked, the last 4 characters only', async () => {
    const { admin } = makeApp()
    const created = await admin('PUT', '/webhooks/crm', hook)
    // A write answers what was sent (nothing it did not already have).
    expect(created.json).toEqual({ name: 'crm', ...hook, timeoutMs: 10_000 })
    const one = await admin('GET', '/webhooks/crm')
    expect(one.json).toMatchObject({
      name: 'crm',
      url: hook.url,
      headers: { 'X-Api-Key': '••••••••c3f9', 'X-Short': '••••••••' },
      secret: '••••••••LaSw',
      timeoutMs: 10_000,
    })
    const list = await admin('GET', '/webhooks')
    expect(list.json.webhooks[0]).toEqual(one.json)
    expect(JSON.stringify(list.json)).not.toContain(SECRET)
    expect(JSON.stringify(list.json)).not.toContain('key-1234567890')
    // Absent stays absent.
    await admin('PUT', '/webhooks/bare', { url: 'https://bare.example.com' })
    const bare = await admin('GET', '/webhooks/bare')
    expect(bare.json).not.toHaveProperty('secret')
    expect(bare.json).not.toHaveProperty('headers')
  })

  it('keeps the stored values when a write sends the masked ones back', async () => {
    const { admin, store } = makeApp()
    await admin('PUT', '/webhooks/crm', hook)
    const { health: _health, ...read } = (await admin('GET', '/webhooks/crm')).json
    const written = await admin('PUT', '/webhooks/crm', { ...read, timeoutMs: 5_000 })
    expect(written.status).toBe(200)
    expect(written.json.secret).toBe('••••••••LaSw')
    expect(await store.getWebhook('crm')).toEqual({ name: 'crm', ...hook, timeoutMs: 5_000 })
    // A header renamed only in case keeps its value; a new value in clear replaces it.
    const renamed = await admin('PUT', '/webhooks/crm', {
      ...read,
      headers: { 'x-api-key': '••••••••c3f9', 'X-Short': 'new' },
    })
    expect(renamed.status).toBe(200)
    expect((await store.getWebhook('crm'))?.headers).toEqual({
      'x-api-key': 'key-1234567890-c3f9',
      'X-Short': 'new',
    })
    // Leaving the secret out removes it.
    await admin('PUT', '/webhooks/crm', { url: hook.url })
    expect(await store.getWebhook('crm')).not.toHaveProperty('secret')
  })

  it('refuses a masked value that does not match the stored one, naming the field', async () => {
    const { admin, store } = makeApp()
    await admin('PUT', '/webhooks/crm', hook)
    const stale = await admin('PUT', '/webhooks/crm', { ...hook, secret: '••••••••abcd' })
    expect(stale.status).toBe(400)
    expect(stale.json.error.code).toBe('invalid_body')
    expect(stale.json.error.issues).toEqual([
      { path: ['secret'], message: expect.stringContaining('does not match the stored secret') },
    ])
    const header = await admin('PUT', '/webhooks/crm', {
      ...hook,
      headers: { 'X-Other': '••••••••c3f9' },
    })
    expect(header.status).toBe(400)
    expect(header.json.error.issues[0].path).toEqual(['headers', 'X-Other'])
    const fresh = await admin('PUT', '/webhooks/new', { ...hook, secret: '••••••••LaSw' })
    expect(fresh.status).toBe(400)
    expect(await store.getWebhook('crm')).toEqual({ name: 'crm', ...hook, timeoutMs: 10_000 })
    expect(await store.getWebhook('new')).toBeNull()
  })

  it('reveals the secret and the header values on an explicit request, logged without them', async () => {
    const lines: { event: string; fields: Record<string, unknown> }[] = []
    const { admin } = makeApp({ log: (event, fields) => lines.push({ event, fields }) })
    await admin('PUT', '/webhooks/crm', hook)
    const revealed = await admin('POST', '/webhooks/crm/secret/reveal')
    expect(revealed.status).toBe(200)
    expect(revealed.json).toEqual({ secret: SECRET })
    expect(revealed.headers.get('cache-control')).toBe('no-store')
    const headers = await admin('POST', '/webhooks/crm/headers/reveal')
    expect(headers.json).toEqual({ headers: hook.headers })
    await admin('PUT', '/webhooks/bare', { url: 'https://bare.example.com' })
    expect((await admin('POST', '/webhooks/bare/secret/reveal')).json).toEqual({ secret: null })
    expect((await admin('POST', '/webhooks/bare/headers/reveal')).json).toEqual({ headers: {} })
    expect(lines.map((line) => line.event)).toEqual(
      expect.arrayContaining(['webhook.secret_revealed', 'webhook.headers_revealed']),
    )
    expect(JSON.stringify(lines)).not.toContain(SECRET)
    expect(JSON.stringify(lines)).not.toContain('key-1234567890')
  })

  it('rotates the secret: a new whsec_ of 24 random bytes, stored, answered once', async () => {
    const { admin, store } = makeApp()
    await admin('PUT', '/webhooks/crm', hook)
    const rotated = await admin('POST', '/webhooks/crm/secret/rotate')
    expect(rotated.status).toBe(200)
    const { secret } = rotated.json
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/)
    expect(Buffer.from(secret.slice(6), 'base64')).toHaveLength(24)
    expect(secret).not.toBe(SECRET)
    expect(await store.getWebhook('crm')).toEqual({
      name: 'crm',
      ...hook,
      secret,
      timeoutMs: 10_000,
    })
    expect((await admin('GET', '/webhooks/crm')).json.secret).toBe(`••••••••${secret.slice(-4)}`)
    const again = (await admin('POST', '/webhooks/crm/secret/rotate')).json.secret
    expect(again).not.toBe(secret)
    // A webhook without a secret gets one.
    await admin('PUT', '/webhooks/bare', { url: 'https://bare.example.com' })
    expect((await admin('POST', '/webhooks/bare/secret/rotate')).json.secret).toMatch(/^whsec_/)
  })

  it('answers 404 for an unknown webhook and 401 without the token', async () => {
    const { admin, call } = makeApp()
    for (const path of ['secret/reveal', 'secret/rotate', 'headers/reveal']) {
      for (const name of ['nope', 'bad%20name']) {
        const result = await admin('POST', `/webhooks/${name}/${path}`)
        expect(result.status, `${name}/${path}`).toBe(404)
        expect(result.json).toEqual({
          error: { code: 'not_found', message: expect.stringContaining('does not exist') },
        })
      }
      const refused = await call('POST', `/api/v1/admin/webhooks/nope/${path}`)
      expect(refused.status).toBe(401)
    }
  })
})

describe('webhook health in the admin API', () => {
  it('shows each webhook in the list and alone with its health', async () => {
    const store = new MemoryStore()
    const { admin } = makeApp({ store })
    await admin('PUT', '/webhooks/crm', { url: 'https://crm.example.com' })
    await admin('PUT', '/webhooks/quiet', { url: 'https://quiet.example.com' })
    const T = Date.parse('2025-03-01T10:02:00Z')
    for (const [i, ok] of [false, false, false].entries()) {
      await store.recordDelivery({
        id: `d${i}`,
        webhook: 'crm',
        conversationId: 'c',
        async: false,
        body: '{}',
        createdAt: T + i * 1000,
        status: ok ? 'delivered' : 'failed',
        attempt: { at: T + i * 1000, status: 503, durationMs: 5, error: 'HTTP 503' },
      })
    }
    const list = (await admin('GET', '/webhooks')).json.webhooks
    expect(list.map((w: { health: unknown }) => w.health)).toEqual([
      {
        state: 'failing',
        lastSuccessAt: null,
        lastFailureAt: '2025-03-01T10:02:02.000Z',
        consecutiveFailures: 3,
        failingSince: '2025-03-01T10:02:00.000Z',
        failedDeliveries: 3,
        lastError: 'HTTP 503',
      },
      {
        state: 'unknown',
        lastSuccessAt: null,
        lastFailureAt: null,
        consecutiveFailures: 0,
        failingSince: null,
        failedDeliveries: 0,
        lastError: null,
      },
    ])
    await store.recordDelivery({
      id: 'ok',
      webhook: 'crm',
      conversationId: 'c',
      async: false,
      body: '{}',
      createdAt: T + 5000,
      status: 'delivered',
      attempt: { at: T + 5000, status: 200, durationMs: 5, error: null },
    })
    expect((await admin('GET', '/webhooks/crm')).json.health).toEqual({
      state: 'healthy',
      lastSuccessAt: '2025-03-01T10:02:05.000Z',
      lastFailureAt: '2025-03-01T10:02:02.000Z',
      consecutiveFailures: 0,
      failingSince: null,
      failedDeliveries: 0,
      lastError: 'HTTP 503',
    })
  })
})
