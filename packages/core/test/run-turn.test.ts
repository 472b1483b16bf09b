import { describe, expect, it } from 'vitest'
import { parseWebhookReply, runTurn, type WebhookEffect } from '../src/index.js'
import { bot, shown } from './fixtures.js'

const flow = bot({
  id: 'shop',
  start: 'hello',
  blocks: [
    { id: 'hello', type: 'text', text: 'Hello!', next: 'log' },
    { id: 'log', type: 'webhook', webhook: 'analytics', async: true, next: 'profile' },
    { id: 'profile', type: 'webhook', webhook: 'crm', next: 'greet', onError: 'oops' },
    { id: 'greet', type: 'text', text: 'Welcome back, {{first_name}}.', next: 'orders' },
    { id: 'orders', type: 'webhook', webhook: 'shop', next: 'ask' },
    { id: 'ask', type: 'question', answer: 'text', text: 'Anything else?' },
    { id: 'oops', type: 'text', text: 'We could not load your profile.' },
  ],
})

describe('runTurn', () => {
  it('performs sync calls in order and returns one combined result', async () => {
    const calls: WebhookEffect[] = []
    const result = await runTurn(
      flow,
      null,
      { type: 'start' },
      {
        callWebhook: async (effect) => {
          calls.push(effect)
          return effect.webhook === 'crm'
            ? parseWebhookReply({ status: 200, body: '{"first_name":"Ada"}' })
            : parseWebhookReply({
                status: 200,
                body: '{"responses":[{"type":"text","delay":2000,"elements":[{"label":"Your order shipped","order":1}]}]}',
              })
        },
      },
    )
    expect(calls.map((call) => [call.webhook, call.async])).toEqual([
      ['crm', false],
      ['shop', false],
    ])
    expect(shown(result)).toEqual([
      'Hello!',
      'Welcome back, Ada.',
      'Your order shipped',
      'Anything else?',
    ])
    expect(result.input).toEqual({ type: 'text' })
    expect(result.effects.map((effect) => [effect.webhook, effect.async])).toEqual([
      ['analytics', true],
    ])
    expect(result.state.messages.map((message) => message.text)).toEqual(shown(result))
  })

  it('treats a rejected call as a failure', async () => {
    const result = await runTurn(
      flow,
      null,
      { type: 'start' },
      { callWebhook: () => Promise.reject(new Error('ECONNREFUSED')) },
    )
    expect(shown(result)).toEqual(['Hello!', 'We could not load your profile.'])
    expect(result.ended).toBe(true)
  })

  it('ends a conversation that loops through a sync webhook more than maxWebhookCalls times', async () => {
    const polling = bot({
      id: 'poll',
      start: 'check',
      blocks: [
        { id: 'check', type: 'webhook', webhook: 'status', next: 'route' },
        {
          id: 'route',
          type: 'condition',
          rules: [{ variable: 'done', op: 'is_set', next: 'end' }],
          else: 'check',
        },
        { id: 'end', type: 'text', text: 'Done' },
      ],
    })
    let count = 0
    const result = await runTurn(
      polling,
      null,
      { type: 'start' },
      {
        maxWebhookCalls: 5,
        callWebhook: async () => {
          count++
          return { kind: 'none' }
        },
      },
    )
    expect(count).toBe(5)
    expect(result).toMatchObject({ ended: true, input: null, effects: [], guard: 'webhook_calls' })
    expect(result.state).toMatchObject({ ended: true, at: null, waiting: null, calls: 6 })
  })
})

describe('the README example', () => {
  it('runs as written, with a stand-in fetch', async () => {
    const botFileText = JSON.stringify({
      id: 'lead-gen',
      start: 'welcome',
      blocks: [
        {
          id: 'welcome',
          type: 'buttons',
          text: 'What brings you here today?',
          choices: [{ label: 'Just browsing' }],
          next: 'lookup',
        },
        { id: 'lookup', type: 'webhook', webhook: 'crm', next: 'hello' },
        { id: 'hello', type: 'text', text: 'Hello {{first_name}}!' },
      ],
    })
    const CRM_URL = 'https://crm.example.com/hook'
    const posted: string[] = []
    const fetch = async (_url: string, init: { body: string }) => {
      posted.push(init.body)
      return new Response('{"first_name":"Ada"}', { status: 200 })
    }

    const { formatBotIssues, parseWebhookReply, runTurn, validateBot } = await import(
      '../src/index.js'
    )
    const checked = validateBot(JSON.parse(botFileText), { webhooks: ['crm'] })
    if (!checked.ok) throw new Error(formatBotIssues(checked.issues))
    const callWebhook = async (effect: WebhookEffect) => {
      const res = await fetch(CRM_URL, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: effect.body,
      } as { body: string })
      return parseWebhookReply({
        status: res.status,
        body: new Uint8Array(await res.arrayBuffer()),
      })
    }
    let turn = await runTurn(checked.bot, null, { type: 'start' }, { callWebhook })
    turn = await runTurn(
      checked.bot,
      turn.state,
      { type: 'reply', text: 'Just browsing' },
      { callWebhook },
    )

    expect(shown(turn)).toEqual(['Hello Ada!'])
    expect(turn.ended).toBe(true)
    expect(JSON.parse(posted[0]!)).toEqual({
      conversation: 'Bot: What brings you here today?\nUser: Just browsing\n',
    })
  })
})

describe('runTurn visited blocks', () => {
  it('combines every step’s blocks, each once, in the order first reached', async () => {
    const result = await runTurn(
      flow,
      null,
      { type: 'start' },
      { callWebhook: async () => parseWebhookReply({ status: 200, body: '' }) },
    )
    expect(result.visited).toEqual(['hello', 'log', 'profile', 'greet', 'orders', 'ask'])
  })
})
