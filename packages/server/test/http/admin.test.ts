import { describe, expect, it } from 'vitest'
import { ADMIN_TOKEN, leadGenBot, makeApp } from '../helpers.js'

describe('admin API', () => {
  it('is disabled without a token and refuses wrong tokens', async () => {
    const disabled = makeApp({ adminToken: undefined as unknown as string })
    const off = await disabled.call('GET', '/api/v1/admin/bots', undefined, {
      authorization: `Bearer ${ADMIN_TOKEN}`,
    })
    expect(off.status).toBe(404)
    expect(off.json.error.code).toBe('admin_disabled')

    const { call } = makeApp()
    for (const authorization of [
      undefined,
      'Bearer wrong',
      `Basic ${ADMIN_TOKEN}`,
      `Bearer ${ADMIN_TOKEN}x`,
      'Bearer ',
    ]) {
      const result = await call(
        'GET',
        '/api/v1/admin/bots',
        undefined,
        authorization ? { authorization } : {},
      )
      expect(result.status).toBe(401)
      expect(result.json.error.code).toBe('unauthorized')
      expect(result.headers.get('www-authenticate')).toBe('Bearer')
    }
  })

  it('warns when a registered URL is one the address guard will refuse, and saves it', async () => {
    const guarded = makeApp({ allowPrivateUrls: false })
    for (const url of ['http://127.0.0.1:8080/hook', 'http://[::1]/hook', 'http://localhost/x']) {
      const saved = await guarded.admin('PUT', '/webhooks/local', { url })
      expect(saved.status).toBeLessThan(300)
      expect(saved.json.warnings).toHaveLength(1)
      expect(saved.json.warnings[0]).toMatch(
        /^Calls to this URL will fail: address .* is not allowed \(loopback\); set JOON_ALLOW_PRIVATE_URLS=1/,
      )
      expect((await guarded.admin('GET', '/webhooks/local')).json.url).toBe(url)
    }
    const publicUrl = await guarded.admin('PUT', '/webhooks/crm', {
      url: 'https://crm.example.com/x',
    })
    expect(publicUrl.json).not.toHaveProperty('warnings')
    const allowed = makeApp({ allowPrivateUrls: true })
    const local = await allowed.admin('PUT', '/webhooks/local', {
      url: 'http://127.0.0.1:8080/hook',
    })
    expect(local.json).not.toHaveProperty('warnings')
  })

  it('creates, updates, lists and deletes webhooks', async () => {
    const { admin } = makeApp()
    const hook = {
      url: 'https://crm.example.com/hooks',
      headers: { 'X-Api-Key': 'abc' },
      secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    }
    const created = await admin('PUT', '/webhooks/crm', hook)
    expect(created.status).toBe(201)
    expect(created.json).toEqual({ name: 'crm', ...hook, timeoutMs: 10_000 })
    const updated = await admin('PUT', '/webhooks/crm', { ...hook, name: 'crm', timeoutMs: 30_000 })
    expect(updated.status).toBe(200)
    expect((await admin('GET', '/webhooks/crm')).json.timeoutMs).toBe(30_000)
    expect(
      (await admin('GET', '/webhooks')).json.webhooks.map((w: { name: string }) => w.name),
    ).toEqual(['crm'])
    expect((await admin('DELETE', '/webhooks/crm')).status).toBe(204)
    expect((await admin('GET', '/webhooks/crm')).status).toBe(404)
    expect((await admin('DELETE', '/webhooks/crm')).status).toBe(404)
  })

  it('rejects invalid webhooks with every issue and stores nothing', async () => {
    const { admin } = makeApp()
    const cases: unknown[] = [
      { url: 'ftp://example.com' },
      { url: 'not a url' },
      { url: 'https://ok.example', timeoutMs: 30_001 },
      { url: 'https://ok.example', headers: { 'Bad Header': 'x' } },
      { url: 'https://ok.example', headers: { 'X-Ok': 'line\r\nbreak' } },
      { url: 'https://ok.example', unknown: 1 },
      { url: 'https://ok.example', name: 'other' },
      [],
    ]
    for (const body of cases) {
      const result = await admin('PUT', '/webhooks/crm', body)
      expect(result.status, JSON.stringify(body)).toBe(400)
      expect(result.json.error.code).toBe('invalid_body')
    }
    const badName = await admin('PUT', '/webhooks/bad%20name', { url: 'https://ok.example' })
    expect(badName.status).toBe(400)
    expect(badName.json.error.code).toBe('invalid_name')
    expect((await admin('GET', '/webhooks')).json.webhooks).toEqual([])
  })

  it('refuses webhook headers that cannot be sent in HTTP, naming the header', async () => {
    const { admin } = makeApp()
    const cases: [Record<string, string>, string][] = [
      [{ 'X-A': 'é€😀' }, 'X-A'],
      [{ 'X-Tab-Ok': 'a\tb', 'X-Bell': 'a\u0007b' }, 'X-Bell'],
      [{ 'X-Nul': 'a\u0000b' }, 'X-Nul'],
      [{ 'X-Cr': 'a\rb' }, 'X-Cr'],
      [{ 'X-Del': 'a\u007fb' }, 'X-Del'],
      [{ 'X Space': 'x' }, 'X Space'],
      [{ 'X-É': 'x' }, 'X-É'],
      [{ '': 'x' }, '""'],
      [{ Host: 'evil.example' }, 'Host'],
      [{ 'Transfer-Encoding': 'chunked' }, 'Transfer-Encoding'],
    ]
    for (const [headers, named] of cases) {
      const result = await admin('PUT', '/webhooks/crm', { url: 'https://ok.example', headers })
      expect(result.status, JSON.stringify(headers)).toBe(400)
      expect(result.json.error.code).toBe('invalid_body')
      expect(result.json.error.message).toContain(named)
      expect(result.json.error.issues).toHaveLength(1)
      expect(result.json.error.issues[0].message).toContain(named)
    }
    expect((await admin('GET', '/webhooks')).json.webhooks).toEqual([])
    const fine = { 'X-Api-Key': 'abc', 'X-Tab': 'a\tb ~!', Authorization: 'Bearer x' }
    const ok = await admin('PUT', '/webhooks/crm', { url: 'https://ok.example', headers: fine })
    expect(ok.status).toBe(201)
    expect(ok.json.headers).toEqual(fine)
  })

  it('validates bots against registered webhooks, naming each block', async () => {
    const { admin } = makeApp()
    const refused = await admin('PUT', '/bots/lead-gen', leadGenBot)
    expect(refused.status).toBe(400)
    expect(refused.json.error.code).toBe('invalid_bot')
    expect(refused.json.error.issues).toContainEqual(expect.objectContaining({ blockId: 'notify' }))
    expect(refused.json.error.message).toContain('notify')
    expect((await admin('GET', '/bots')).json.bots).toEqual([])

    await admin('PUT', '/webhooks/crm', { url: 'https://crm.example.com/hooks' })
    expect((await admin('PUT', '/bots/lead-gen', leadGenBot)).status).toBe(201)
    expect((await admin('PUT', '/bots/lead-gen', { ...leadGenBot, name: 'Leads' })).status).toBe(
      200,
    )
    expect((await admin('GET', '/bots/lead-gen')).json.name).toBe('Leads')
    expect((await admin('PUT', '/bots/other-id', leadGenBot)).status).toBe(400)

    const inUse = await admin('DELETE', '/webhooks/crm')
    expect(inUse.status).toBe(409)
    expect(inUse.json.error.code).toBe('webhook_in_use')
    expect(inUse.json.error.message).toContain('lead-gen')

    expect((await admin('DELETE', '/bots/lead-gen')).status).toBe(204)
    expect((await admin('DELETE', '/webhooks/crm')).status).toBe(204)
  })

  it('lists deliveries with filters and retries them', async () => {
    const { admin, call } = makeApp()
    await admin('PUT', '/webhooks/crm', { url: 'https://crm.example.com/hooks' })
    await admin('PUT', '/bots/lead-gen', leadGenBot)
    const start = await call('POST', '/api/v1/bots/lead-gen/conversations', {})
    for (const text of ['Book a demo', 'a@b.co', '+33 6 12 34 56 78']) {
      await call('POST', `/api/v1/conversations/${start.json.conversationId}/replies`, { text })
    }
    const list = await admin('GET', '/deliveries?status=pending&limit=10')
    expect(list.json.deliveries).toHaveLength(1)
    expect(list.json.deliveries[0].createdAt).toMatch(/^\d{4}-\d\d-\d\dT/)
    expect((await admin('GET', '/deliveries?status=failed')).json.deliveries).toEqual([])
    expect((await admin('GET', '/deliveries?status=bogus')).status).toBe(400)
    expect((await admin('GET', '/deliveries?limit=0')).status).toBe(400)
    const retried = await admin('POST', `/deliveries/${list.json.deliveries[0].id}/retry`)
    expect(retried.status).toBe(200)
    expect(retried.json.status).toBe('pending')
    expect((await admin('POST', '/deliveries/unknown/retry')).status).toBe(404)
    expect((await admin('GET', '/conversations/unknown')).status).toBe(404)
  })

  it("queues a new async delivery after the retry schedule's first delay", async () => {
    const now = Date.UTC(2026, 0, 1)
    const { admin, call } = makeApp({ retrySchedule: [5000, 60_000], now: () => now })
    await admin('PUT', '/webhooks/crm', { url: 'https://crm.example.com/hooks' })
    await admin('PUT', '/bots/lead-gen', leadGenBot)
    const start = await call('POST', '/api/v1/bots/lead-gen/conversations', {})
    for (const text of ['Book a demo', 'a@b.co', '+33 6 12 34 56 78']) {
      await call('POST', `/api/v1/conversations/${start.json.conversationId}/replies`, { text })
    }
    const [delivery] = (await admin('GET', '/deliveries')).json.deliveries
    expect(delivery.createdAt).toBe('2026-01-01T00:00:00.000Z')
    expect(delivery.nextAttemptAt).toBe('2026-01-01T00:00:05.000Z')
  })
})
