import { describe, expect, it } from 'vitest'
import { ADMIN_AUTH_FAILURE_BURST } from '../../src/http/auth.js'
import { ADMIN_TOKEN, leadGenBot, makeApp } from '../helpers.js'

/** A clock the test moves by hand, and requests from a chosen client address. */
function throttledApp() {
  let now = 1_000_000
  const made = makeApp({
    now: () => now,
    clientAddress: (request) => request.headers.get('x-test-address') ?? 'unknown',
  })
  const as = (address: string, token: string) =>
    made.app.request('/api/v1/admin/webhooks', {
      headers: { authorization: `Bearer ${token}`, 'x-test-address': address },
    })
  return { ...made, as, advance: (ms: number) => (now += ms) }
}

describe('admin sign-in throttling', () => {
  it('answers 429 with Retry-After after a few wrong tokens, even for 300 parallel guesses', async () => {
    const { as, advance } = throttledApp()
    const guesses = await Promise.all(
      Array.from({ length: 300 }, (_, i) => as('203.0.113.9', `guess-${i}`)),
    )
    const statuses = guesses.map((response) => response.status)
    expect(statuses.filter((status) => status === 401)).toHaveLength(ADMIN_AUTH_FAILURE_BURST)
    expect(statuses.filter((status) => status === 429)).toHaveLength(300 - ADMIN_AUTH_FAILURE_BURST)
    const throttled = guesses.find((response) => response.status === 429)
    const retryAfter = Number(throttled?.headers.get('retry-after'))
    expect(retryAfter).toBeGreaterThanOrEqual(1)
    expect(await throttled?.json()).toMatchObject({
      error: { code: 'too_many_failed_sign_ins' },
    })
    // Throttled means not checked at all: the right token waits too, so no answer leaks it.
    expect((await as('203.0.113.9', ADMIN_TOKEN)).status).toBe(429)
    // Another address is not affected, and after Retry-After the right token works again.
    expect((await as('198.51.100.7', ADMIN_TOKEN)).status).toBe(200)
    advance(retryAfter * 1000)
    expect((await as('203.0.113.9', ADMIN_TOKEN)).status).toBe(200)
  })

  it('never counts the right token, nor a request without any token', async () => {
    const { as, app } = throttledApp()
    for (let i = 0; i < 200; i++) expect((await as('203.0.113.9', ADMIN_TOKEN)).status).toBe(200)
    for (let i = 0; i < 20; i++) {
      const bare = await app.request('/api/v1/admin/webhooks', {
        headers: { 'x-test-address': '203.0.113.9' },
      })
      expect(bare.status).toBe(401)
    }
    // Fewer typos than the burst, among right tokens, stay below the limit.
    for (let i = 0; i < ADMIN_AUTH_FAILURE_BURST - 1; i++) {
      expect((await as('203.0.113.9', 'typo')).status).toBe(401)
      expect((await as('203.0.113.9', ADMIN_TOKEN)).status).toBe(200)
    }
  })

  it('answers every parallel request with the right token after typos (a console page load)', async () => {
    const { as } = throttledApp()
    for (let i = 0; i < ADMIN_AUTH_FAILURE_BURST - 1; i++) {
      expect((await as('203.0.113.9', 'typo')).status).toBe(401)
    }
    // One failure token left: requests in flight together must not hold it from each other.
    const page = await Promise.all(Array.from({ length: 20 }, () => as('203.0.113.9', ADMIN_TOKEN)))
    expect(page.map((response) => response.status)).toEqual(Array(20).fill(200))
  })
})

describe('admin input', () => {
  const nested = (depth: number, leaf = '1') => '['.repeat(depth) + leaf + ']'.repeat(depth)

  it('refuses JSON nested deeper than 64 levels with 400 on every route that reads JSON', async () => {
    const { admin, call } = makeApp()
    const deep = [
      ['PUT', '/webhooks/crm', `{"name":${nested(4000)},"url":"https://x.example"}`],
      ['PUT', '/webhooks/crm', `{"url":"https://x.example","headers":${nested(65)}}`],
      ['PUT', '/bots/lead-gen', `{"id":"lead-gen","start":"a","blocks":${nested(4000)}}`],
    ] as const
    for (const [method, path, body] of deep) {
      const result = await admin(method, path, body)
      expect(result.status, path).toBe(400)
      expect(result.json.error.code).toBe('invalid_json')
      expect(result.json.error.message).toContain('64 levels')
    }
    const chat = [
      ['/api/v1/bots/lead-gen/conversations', `{"variables":{"a":${nested(4000)}}}`],
      ['/api/v1/conversations/c_unknown/replies', `{"text":${nested(100, '"x"')}}`],
    ] as const
    for (const [path, body] of chat) {
      const result = await call('POST', path, body)
      expect(result.status, path).toBe(400)
      expect(result.json.error.code).toBe('invalid_json')
    }
    expect((await admin('GET', '/webhooks')).json.webhooks).toEqual([])
    // 64 levels are fine (here: refused by the schema, not as JSON).
    const shallow = await admin('PUT', '/webhooks/crm', `{"url":${nested(63)}}`)
    expect(shallow.json.error.code).toBe('invalid_body')
    // Brackets inside strings are text, not nesting.
    const text = await admin('PUT', '/webhooks/crm', {
      url: 'https://x.example',
      headers: { 'X-Note': '['.repeat(1000) },
    })
    expect(text.status).toBe(201)
  })

  it('answers 400 invalid_name to a PUT with an invalid name, 404 to a GET or DELETE of it', async () => {
    const { admin } = makeApp()
    for (const path of ['/webhooks/bad%20name', '/bots/-dash', `/bots/${'a'.repeat(65)}`]) {
      const put = await admin('PUT', path, { url: 'https://x.example', ...leadGenBot })
      expect(put.status, path).toBe(400)
      expect(put.json.error.code).toBe('invalid_name')
      expect((await admin('GET', path)).status).toBe(404)
      expect((await admin('DELETE', path)).status).toBe(404)
    }
    expect((await admin('GET', '/webhooks')).json.webhooks).toEqual([])
    expect((await admin('GET', '/bots')).json.bots).toEqual([])
  })

  it('checks the name of a PUT before its body, for every collection', async () => {
    const { admin } = makeApp()
    for (const collection of ['webhooks', 'bots', 'models']) {
      const put = await admin('PUT', `/${collection}/bad%20name`, '{ not json')
      expect(put.status, collection).toBe(400)
      expect(put.json.error.code, collection).toBe('invalid_name')
    }
  })

  it("routes with hono's RegExpRouter: no route pattern makes it fall back to the trie", async () => {
    const { app } = makeApp()
    await app.request('/healthz')
    expect((app.router as unknown as { activeRouter: { name: string } }).activeRouter.name).toBe(
      'RegExpRouter',
    )
  })
})
