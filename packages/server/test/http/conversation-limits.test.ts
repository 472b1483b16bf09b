import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  CONVERSATION_LIMIT_NOTICE,
  MAX_MESSAGES_PER_CONVERSATION,
  MAX_MESSAGES_PER_REPLY,
  MAX_TRANSCRIPT_BYTES,
} from '@joon/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RunningServer, startNodeServer } from '../../src/node.js'
import { SqliteStore } from '../../src/store/sqlite.js'
import { bodyOf, json, startReceiver } from '../helpers.js'

const ADMIN = 'limits-admin-token-0123456789'

/** What a red team did: long replies, and a webhook answering 10,000 messages a turn. */
describe('a conversation that keeps growing, through joon serve on SQLite', () => {
  let server: RunningServer
  let receiver: Awaited<ReturnType<typeof startReceiver>>
  let dir: string
  const logged: { event: string; fields: Record<string, unknown> }[] = []

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'joon-limits-'))
    receiver = await startReceiver((_request, _body, response) =>
      json(response, 200, {
        responses: [
          {
            type: 'text',
            elements: Array.from({ length: 10_000 }, (_, i) => ({ label: `News ${i}`, order: i })),
          },
        ],
      }),
    )
    server = await startNodeServer({
      store: SqliteStore.open(join(dir, 'joon.db')),
      port: 0,
      host: '127.0.0.1',
      adminToken: ADMIN,
      rateLimit: 0,
      conversationRateLimit: 0,
      allowPrivateUrls: true,
      log: (event, fields) => logged.push({ event, fields }),
    })
    await admin('PUT', '/webhooks/news', { url: `${receiver.url}/news` })
    await admin('PUT', '/bots/chatty', {
      id: 'chatty',
      start: 'ask',
      blocks: [{ id: 'ask', type: 'question', answer: 'text', text: 'And then?', next: 'ask' }],
    })
    await admin('PUT', '/bots/flood', {
      id: 'flood',
      start: 'ask',
      blocks: [
        { id: 'ask', type: 'question', answer: 'text', text: 'Topic?', next: 'news' },
        { id: 'news', type: 'webhook', webhook: 'news', next: 'ask' },
      ],
    })
  })
  afterAll(async () => {
    await server.close()
    await receiver.close()
    rmSync(dir, { recursive: true, force: true })
  })

  function request(method: string, path: string, body?: unknown) {
    return fetch(`${server.url}${path}`, {
      method,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
  }
  async function admin(method: string, path: string, body: unknown) {
    const response = await request(method, `/api/v1/admin${path}`, body)
    expect(response.status).toBeLessThan(300)
  }
  async function talk(botId: string, text: string) {
    const started = await bodyOf(await request('POST', `/api/v1/bots/${botId}/conversations`, {}))
    const id: string = started.conversationId
    const replies = []
    for (let last = started; !last.ended && replies.length < 5_000; ) {
      const response = await request('POST', `/api/v1/conversations/${id}/replies`, { text })
      expect(response.status).toBe(200)
      last = await bodyOf(response)
      replies.push(last)
    }
    return { id, replies }
  }

  it('ends one whose visitor sends long replies once its transcript reaches the limit', async () => {
    const { id, replies } = await talk('chatty', 'x'.repeat(10_000))
    // Each reply adds 10,007 bytes of transcript (and "Bot: And then?\n").
    expect(replies).toHaveLength(Math.ceil(MAX_TRANSCRIPT_BYTES / 10_022))
    const last = replies.at(-1)
    expect(last).toMatchObject({ ended: true, input: null })
    expect(last.responses.at(-1).elements[0].label).toBe(CONVERSATION_LIMIT_NOTICE)
    const shown = await request('GET', `/api/v1/conversations/${id}`)
    const text = await shown.text()
    expect(text.length).toBeLessThan(MAX_TRANSCRIPT_BYTES + 20_000)
    expect(JSON.parse(text).messages.at(-1).text).toBe(CONVERSATION_LIMIT_NOTICE)
    const after = await request('POST', `/api/v1/conversations/${id}/replies`, { text: 'more' })
    expect(after.status).toBe(409)
    expect(logged).toContainEqual({
      event: 'conversation.guard_stopped',
      fields: expect.objectContaining({ conversationId: id, guard: 'conversation_size' }),
    })
  })

  it(`shows ${MAX_MESSAGES_PER_REPLY} messages of a webhook's 10,000, and ends at the message limit`, async () => {
    const { id, replies } = await talk('flood', 'weather')
    const first = replies[0]
    expect(first.responses.flatMap((r: { elements: unknown[] }) => r.elements)).toHaveLength(
      MAX_MESSAGES_PER_REPLY + 1,
    )
    // 102 messages a turn (the answer, 100 of the news, the question) after the first question.
    const turns = Math.ceil((MAX_MESSAGES_PER_CONVERSATION - 1) / 102)
    expect(replies).toHaveLength(turns)
    expect(replies.at(-1)).toMatchObject({ ended: true, input: null })
    const shown = await bodyOf(await request('GET', `/api/v1/conversations/${id}`))
    // The limit is checked when the bot would wait again: at most one turn past it.
    expect(shown.messages).toHaveLength(1 + turns * 102 + 1)
    expect(logged).toContainEqual({
      event: 'webhook.skipped_instructions',
      fields: expect.objectContaining({ conversationId: id }),
    })
  })
})
