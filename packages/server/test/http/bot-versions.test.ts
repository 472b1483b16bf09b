import { describe, expect, it } from 'vitest'
import { BOT_GONE_NOTICE } from '../../src/conversation.js'
import { ADMIN_TOKEN, leadGenBot, makeApp } from '../helpers.js'

/** The lead-generation bot as an edit in the builder leaves it: blocks renamed and rewritten. */
const editedBot = {
  ...leadGenBot,
  start: 'hello',
  blocks: [
    { id: 'hello', type: 'question', answer: 'text', text: 'Your name?', saveAnswerTo: 'name' },
  ],
}

async function setUp() {
  const ctx = makeApp()
  await ctx.admin('PUT', '/webhooks/crm', { url: 'https://crm.example.com/hooks' })
  expect((await ctx.admin('PUT', '/bots/lead-gen', leadGenBot)).status).toBe(201)
  return ctx
}

const texts = (responses: { elements: { label: string }[] }[]) =>
  responses.flatMap((response) => response.elements.map((element) => element.label))

describe('conversations pinned to a bot version', () => {
  it('finish on the version they started on; new ones get the latest', async () => {
    const { call, admin } = await setUp()
    const old = await call('POST', '/api/v1/bots/lead-gen/conversations', {})
    await call('POST', `/api/v1/conversations/${old.json.conversationId}/replies`, {
      text: 'Book a demo',
    })
    expect((await admin('PUT', '/bots/lead-gen', editedBot)).status).toBe(200)

    const view = await call('GET', `/api/v1/conversations/${old.json.conversationId}`)
    expect(view.json.input).toEqual({ type: 'email' })
    const email = await call('POST', `/api/v1/conversations/${old.json.conversationId}/replies`, {
      text: 'ada@example.com',
    })
    expect(email.status).toBe(200)
    expect(texts(email.json.responses)).toEqual(["What's your phone number?"])
    const phone = await call('POST', `/api/v1/conversations/${old.json.conversationId}/replies`, {
      text: '0612345678',
    })
    expect(phone.json).toMatchObject({ input: null, ended: true })
    expect(texts(phone.json.responses)).toEqual(['Thanks! We will write to ada@example.com.'])

    const fresh = await call('POST', '/api/v1/bots/lead-gen/conversations', {})
    expect(texts(fresh.json.responses)).toEqual(['Your name?'])
    expect(fresh.json.input).toEqual({ type: 'text' })
  })

  it('end with a clear message, not a dead end, once their bot is deleted', async () => {
    const { call, admin } = await setUp()
    const started = await call('POST', '/api/v1/bots/lead-gen/conversations', {})
    const id = started.json.conversationId
    expect((await admin('DELETE', '/bots/lead-gen')).status).toBe(204)
    // A new bot of the same id is not the flow this conversation was in.
    expect((await admin('PUT', '/bots/lead-gen', editedBot)).status).toBe(201)

    const view = await call('GET', `/api/v1/conversations/${id}`)
    expect(view.json).toMatchObject({ ended: false, input: { type: 'text' } })
    const reply = await call('POST', `/api/v1/conversations/${id}/replies`, { text: ' Hi ' })
    expect(reply.status).toBe(200)
    expect(reply.json).toEqual({
      responses: [
        {
          type: 'text',
          delay: 0,
          elements: [{ label: BOT_GONE_NOTICE, order: 1, placeholder: null }],
        },
      ],
      input: null,
      ended: true,
    })
    const after = await call('GET', `/api/v1/conversations/${id}`)
    expect(after.json).toMatchObject({ ended: true, input: null })
    expect(after.json.messages.slice(-2)).toEqual([
      { from: 'user', text: 'Hi' },
      { from: 'bot', text: BOT_GONE_NOTICE },
    ])
    const again = await call('POST', `/api/v1/conversations/${id}/replies`, { text: 'Hi' })
    expect(again.status).toBe(409)
    expect(again.json.error.code).toBe('conversation_ended')
    const transcript = (await admin('GET', `/conversations/${id}`)).json.transcript
    expect(transcript).toContain(`User: Hi\nBot: ${BOT_GONE_NOTICE}\n`)
  })
})

describe('admin API: bot versions', () => {
  it('numbers every save, records its source, and says so in a header', async () => {
    const { call, admin } = await setUp()
    const headers = { authorization: `Bearer ${ADMIN_TOKEN}` }
    const first = await call('GET', '/api/v1/admin/bots/lead-gen/versions', undefined, headers)
    expect(first.json.versions).toHaveLength(1)
    const console = await call('PUT', '/api/v1/admin/bots/lead-gen', editedBot, {
      ...headers,
      'x-joon-source': 'console',
    })
    expect(console.status).toBe(200)
    expect(console.headers.get('x-joon-bot-version')).toBe('2')
    expect(console.json).toEqual(editedBot)
    const api = await admin('PUT', '/bots/lead-gen', { ...leadGenBot, name: 'Third' })
    expect(api.headers.get('x-joon-bot-version')).toBe('3')

    const listed = await admin('GET', '/bots/lead-gen/versions')
    expect(listed.status).toBe(200)
    expect(listed.json.file).toBeNull()
    expect(
      listed.json.versions.map(({ savedAt, ...rest }: { savedAt: string }) => {
        expect(new Date(savedAt).toISOString()).toBe(savedAt)
        return rest
      }),
    ).toEqual([
      { version: 3, source: 'api', blocks: 5, live: 0 },
      { version: 2, source: 'console', blocks: 1, live: 0 },
      { version: 1, source: 'api', blocks: 5, live: 0 },
    ])
    expect((await admin('GET', '/bots/lead-gen/versions/2')).json).toEqual(editedBot)
    expect((await admin('GET', '/bots/lead-gen/versions/1')).json).toEqual(leadGenBot)
  })

  it('restores a version as the new latest, leaving the history whole', async () => {
    const { call, admin } = await setUp()
    await admin('PUT', '/bots/lead-gen', editedBot)
    const restored = await call(
      'POST',
      '/api/v1/admin/bots/lead-gen/versions/1/restore',
      undefined,
      {
        authorization: `Bearer ${ADMIN_TOKEN}`,
        'x-joon-source': 'console',
      },
    )
    expect(restored.status).toBe(200)
    expect(restored.json).toEqual(leadGenBot)
    expect(restored.headers.get('x-joon-bot-version')).toBe('3')
    expect((await admin('GET', '/bots/lead-gen')).json).toEqual(leadGenBot)
    const { versions } = (await admin('GET', '/bots/lead-gen/versions')).json
    expect(versions.map((v: { version: number; source: string }) => [v.version, v.source])).toEqual(
      [
        [3, 'console'],
        [2, 'api'],
        [1, 'api'],
      ],
    )
  })

  it('counts live conversations by block and version, before and after an edit', async () => {
    const { call, admin } = await setUp()
    const start = () => call('POST', '/api/v1/bots/lead-gen/conversations', {})
    const reply = (id: string, text: string) =>
      call('POST', `/api/v1/conversations/${id}/replies`, { text })
    const a = (await start()).json.conversationId
    const b = (await start()).json.conversationId
    await reply(b, 'Book a demo')
    const c = (await start()).json.conversationId
    await reply(c, 'Book a demo')
    await reply(c, 'c@example.com')
    await reply(c, '0612345678') // ended
    expect((await admin('GET', '/bots/lead-gen/live')).json).toEqual({
      live: 2,
      byBlock: { 'ask-email': 1, welcome: 1 },
      byVersion: { '1': 2 },
    })
    await admin('PUT', '/bots/lead-gen', editedBot)
    await start()
    await reply(a, 'Just browsing')
    expect((await admin('GET', '/bots/lead-gen/live')).json).toEqual({
      live: 3,
      byBlock: { 'ask-email': 2, hello: 1 },
      byVersion: { '1': 2, '2': 1 },
    })
    const listed = (await admin('GET', '/bots/lead-gen/versions')).json.versions
    expect(listed.map((v: { live: number }) => v.live)).toEqual([1, 2])
  })

  it('answers 400 for a bad version, 404 for an unknown bot or version, never 500', async () => {
    const { call, admin } = await setUp()
    for (const bad of ['0', '-1', '1.5', 'abc', '01', '99999999999', '2147483648', '%00']) {
      for (const [method, path] of [
        ['GET', `/bots/lead-gen/versions/${bad}`],
        ['POST', `/bots/lead-gen/versions/${bad}/restore`],
      ] as const) {
        const result = await admin(method, path)
        expect(result.status, `${method} ${path}`).toBe(400)
        expect(result.json.error.code).toBe('invalid_version')
        expect(result.json.error.message).toMatch(/not a version number/)
      }
    }
    for (const [method, path] of [
      ['GET', '/bots/lead-gen/versions/2'],
      ['POST', '/bots/lead-gen/versions/2/restore'],
      ['GET', '/bots/nope/versions'],
      ['GET', '/bots/nope/versions/1'],
      ['POST', '/bots/nope/versions/1/restore'],
      ['GET', '/bots/nope/live'],
    ] as const) {
      const result = await admin(method, path)
      expect(result.status, `${method} ${path}`).toBe(404)
      expect(result.json.error.code).toBe('not_found')
    }
    // The routes sit behind the admin token like the others.
    expect((await call('GET', '/api/v1/admin/bots/lead-gen/versions')).status).toBe(401)
    expect((await admin('GET', '/bots/lead-gen/versions')).json.versions).toHaveLength(1)
  })

  it('refuses to restore a version whose webhook was deleted since, saving nothing', async () => {
    const { admin } = await setUp()
    await admin('PUT', '/bots/lead-gen', editedBot)
    expect((await admin('DELETE', '/webhooks/crm')).status).toBe(204)
    const restored = await admin('POST', '/bots/lead-gen/versions/1/restore')
    expect(restored.status).toBe(400)
    expect(restored.json.error.code).toBe('invalid_bot')
    expect(restored.json.error.message).toMatch(/crm/)
    expect((await admin('GET', '/bots/lead-gen/versions')).json.versions).toHaveLength(2)
  })
})
