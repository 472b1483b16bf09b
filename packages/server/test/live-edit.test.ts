import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  type Bot,
  type ConversationState,
  runTurn,
  validateBot,
  type WebhookOutcome,
} from '@joon/core'
import { afterEach, describe, expect, it } from 'vitest'
import { startReceiver } from './async/support.js'
import { type JoonProcess, startJoon } from './cli-process.js'
import { bodyOf, leadGenBot } from './helpers.js'

/**
 * Issue 20: owners edit a bot while visitors are mid-conversation. Through the real
 * `joon serve` (built `dist/`), on a SQLite file, with the async webhook delivered to a real
 * receiver on 127.0.0.1: 20 conversations stopped at every waiting block of the
 * lead-generation bot outlive an edit that renames, deletes and rewrites those blocks.
 */

const ADMIN = 'live-edit-admin-token'
const cleanups: (() => unknown)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** The edit: `ask-email` renamed, `ask-phone` deleted, every text changed, the webhook moved. */
const editedBot = {
  id: 'lead-gen',
  name: 'Lead generation (new)',
  start: 'welcome',
  blocks: [
    {
      id: 'welcome',
      type: 'buttons',
      text: 'Hi! What can we do for you?',
      choices: [{ label: 'Talk to sales', value: 'sales' }],
      saveAnswerTo: 'reason',
      next: 'email',
    },
    {
      id: 'email',
      type: 'question',
      answer: 'email',
      text: 'Your work email?',
      saveAnswerTo: 'work_email',
      next: 'notify',
    },
    { id: 'notify', type: 'webhook', webhook: 'crm', async: true, next: 'bye' },
    { id: 'bye', type: 'text', text: 'Merci, à bientôt {{work_email}}!' },
  ],
}

/** The replies that finish a conversation on the original flow, from its start. */
function repliesOf(i: number): string[] {
  return [
    i % 2 === 0 ? 'Book a demo' : 'Just browsing',
    i === 4 ? 'not an email' : `visitor${i}@example.com`,
    ...(i === 4 ? [`visitor${i}@example.com`] : []),
    `06123456${String(i).padStart(2, '0')}`,
  ]
}

/** What the original flow shows and sends for these replies: the pure interpreter's answer. */
async function originalFlow(bot: Bot, variables: Record<string, unknown>, replies: string[]) {
  const bodies: string[] = []
  const turns: unknown[] = []
  const callWebhook = async (): Promise<WebhookOutcome> => {
    throw new Error('these bots make no synchronous calls')
  }
  let result = await runTurn(bot, null, { type: 'start', variables }, { callWebhook })
  let state: ConversationState = result.state
  for (const effect of result.effects) bodies.push(effect.body)
  for (const text of replies) {
    result = await runTurn(bot, state, { type: 'reply', text }, { callWebhook })
    state = result.state
    bodies.push(...result.effects.map((effect) => effect.body))
    turns.push({ responses: result.responses, input: result.input, ended: result.ended })
  }
  return { bodies, turns }
}

async function call(method: string, url: string, body?: unknown, headers = {}) {
  const response = await fetch(url, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  return { status: response.status, headers: response.headers, json: await bodyOf(response) }
}

describe('live conversations across a bot edit (issue 20)', () => {
  it('finish on their original flow, and deliver exactly what it produces', async () => {
    const receiver = await startReceiver((_received, response) => response.end())
    cleanups.push(() => receiver.close())
    const dir = mkdtempSync(join(tmpdir(), 'joon-live-edit-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    mkdirSync(join(dir, 'bots'))
    writeFileSync(join(dir, 'bots', 'lead-gen.json'), JSON.stringify(leadGenBot))
    writeFileSync(join(dir, 'webhooks.json'), JSON.stringify([{ name: 'crm', url: receiver.url }]))
    const server: JoonProcess = await startJoon(
      [
        '--data',
        join(dir, 'joon.db'),
        '--bots',
        join(dir, 'bots'),
        '--webhooks',
        join(dir, 'webhooks.json'),
      ],
      { JOON_ADMIN_TOKEN: ADMIN, JOON_ALLOW_PRIVATE_URLS: '1', JOON_RETRY_SCHEDULE: '0,100ms' },
    )
    cleanups.push(() => server.kill())
    const admin = { authorization: `Bearer ${ADMIN}` }
    const original = validateBot(leadGenBot, { webhooks: ['crm'] })
    if (!original.ok) throw new Error('the fixture is not valid')

    // 20 conversations, stopped at each waiting block: the welcome buttons, the email and
    // phone questions (one just after a wrong email, on the retry prompt).
    const conversations: { id: string; replies: string[]; sent: number; ref: string }[] = []
    for (let i = 0; i < 20; i++) {
      const ref = `ref-${i}`
      const started = await call('POST', `${server.url}/api/v1/bots/lead-gen/conversations`, {
        variables: { ref },
      })
      expect(started.status).toBe(201)
      const replies = repliesOf(i)
      const stopAt = i === 4 ? 2 : i % 3 === 0 ? 0 : i % 3 === 1 ? 1 : replies.length - 1
      for (const text of replies.slice(0, stopAt)) {
        const reply = await call(
          'POST',
          `${server.url}/api/v1/conversations/${started.json.conversationId}/replies`,
          { text },
        )
        expect(reply.status).toBe(200)
      }
      conversations.push({ id: started.json.conversationId, replies, sent: stopAt, ref })
    }
    const before = await call(
      'GET',
      `${server.url}/api/v1/admin/bots/lead-gen/live`,
      undefined,
      admin,
    )
    expect(before.json).toEqual({
      live: 20,
      byBlock: { 'ask-email': 7, 'ask-phone': 6, welcome: 7 },
      byVersion: { '1': 20 },
    })

    const saved = await call('PUT', `${server.url}/api/v1/admin/bots/lead-gen`, editedBot, {
      ...admin,
      'x-joon-source': 'console',
    })
    expect(saved.status).toBe(200)
    expect(saved.headers.get('x-joon-bot-version')).toBe('2')

    // Every conversation finishes, each turn answered exactly as the original flow answers.
    const expectedBodies: string[] = []
    for (const conversation of conversations) {
      const flow = await originalFlow(original.bot, { ref: conversation.ref }, conversation.replies)
      expectedBodies.push(...flow.bodies)
      for (const [n, text] of conversation.replies.entries()) {
        if (n < conversation.sent) continue
        const reply = await call(
          'POST',
          `${server.url}/api/v1/conversations/${conversation.id}/replies`,
          { text },
        )
        expect(reply.status).toBe(200)
        expect(reply.json).toEqual(flow.turns[n])
      }
      const view = await call('GET', `${server.url}/api/v1/conversations/${conversation.id}`)
      expect(view.json.ended).toBe(true)
      expect(view.json.messages.at(-1)).toEqual({
        from: 'bot',
        text: `Thanks! We will write to ${conversation.replies.at(-2)}.`,
      })
    }
    expect(expectedBodies).toHaveLength(20)
    const live = await call(
      'GET',
      `${server.url}/api/v1/admin/bots/lead-gen/live`,
      undefined,
      admin,
    )
    expect(live.json).toEqual({ live: 0, byBlock: {}, byVersion: {} })

    // A conversation started now runs the edit.
    const fresh = await call('POST', `${server.url}/api/v1/bots/lead-gen/conversations`, {
      variables: { ref: 'fresh' },
    })
    expect(fresh.json.responses[0].elements[0].label).toBe('Hi! What can we do for you?')
    for (const text of ['Talk to sales', 'new@example.com']) {
      await call(
        'POST',
        `${server.url}/api/v1/conversations/${fresh.json.conversationId}/replies`,
        {
          text,
        },
      )
    }
    const edited = validateBot(editedBot, { webhooks: ['crm'] })
    if (!edited.ok) throw new Error('the edit is not valid')
    const freshFlow = await originalFlow(edited.bot, { ref: 'fresh' }, [
      'Talk to sales',
      'new@example.com',
    ])

    // The receiver gets each payload exactly as its flow produced it (at least once: by
    // webhook-id, a retried delivery counts once).
    const expected = [...expectedBodies, ...freshFlow.bodies].sort()
    const deadline = Date.now() + 20_000
    const unique = () => [...new Map(receiver.received.map((r) => [r.id, r.body])).values()]
    while (unique().length < expected.length && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    expect(unique().sort()).toEqual(expected)
    for (const body of expectedBodies) {
      const { conversation } = JSON.parse(body) as { conversation: string }
      expect(conversation.startsWith('Bot: What brings you here today?\n')).toBe(true)
      expect(conversation).not.toMatch(/Your work email|Hi! What can we do/)
    }
  }, 60_000)
})
