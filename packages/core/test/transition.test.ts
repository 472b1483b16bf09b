import { describe, expect, it } from 'vitest'
import {
  type ConversationState,
  currentInput,
  DEFAULT_RETRY_TEXTS,
  MAX_BLOCKS_PER_STEP,
  parseWebhookReply,
  StepError,
  type StepResult,
  step,
} from '../src/index.js'
import { bot, leadGen, shown } from './fixtures.js'

const reply = (text: string) => ({ type: 'reply', text }) as const

function converse(
  flow: typeof leadGen,
  replies: string[],
  variables?: Record<string, unknown>,
): StepResult[] {
  const results = [step(flow, null, variables ? { type: 'start', variables } : { type: 'start' })]
  for (const text of replies) results.push(step(flow, results.at(-1)!.state, reply(text)))
  return results
}

describe('the lead-generation bot (Joonbot example 1)', () => {
  it('asks, validates, and sends the payload byte-for-byte', () => {
    const [start, afterButton, afterEmail, afterPhone] = converse(leadGen, [
      'Just browsing',
      'nicolas@joonbot.com',
      '0612345678',
    ])
    expect(start?.responses).toEqual([
      {
        type: 'text',
        delay: 0,
        elements: [{ label: 'What brings you here today?', order: 1, placeholder: null }],
      },
    ])
    expect(start?.input).toEqual({
      type: 'buttons',
      choices: [{ label: 'Just browsing' }, { label: 'Book a demo' }],
    })
    expect(start?.state).toMatchObject({
      v: 1,
      botId: 'lead-gen',
      at: 'welcome',
      waiting: 'input',
      ended: false,
    })

    expect(shown(afterButton!)).toEqual(["What's your email address?"])
    expect(afterButton?.input).toEqual({ type: 'email' })
    expect(shown(afterEmail!)).toEqual(["What's your phone number?"])
    expect(afterEmail?.input).toEqual({ type: 'phone' })

    expect(shown(afterPhone!)).toEqual(['Thanks! We will write to nicolas@joonbot.com.'])
    expect(afterPhone?.ended).toBe(true)
    expect(afterPhone?.input).toBeNull()
    expect(afterPhone?.effects).toEqual([
      {
        type: 'webhook',
        callId: 'call-1',
        blockId: 'notify',
        webhook: 'crm',
        async: true,
        body: `{
  "email": "nicolas@joonbot.com",
  "phone_number": "0612345678",
  "conversation": "Bot: What brings you here today?\\nUser: Just browsing\\nBot: What's your email address?\\nUser: nicolas@joonbot.com\\nBot: What's your phone number?\\nUser: 0612345678\\n"
}`,
      },
    ])
    const body = JSON.parse(afterPhone!.effects[0]!.body) as Record<string, string>
    expect(Object.keys(body)).toEqual(['email', 'phone_number', 'conversation'])
    expect(body.conversation).toBe(
      "Bot: What brings you here today?\nUser: Just browsing\nBot: What's your email address?\nUser: nicolas@joonbot.com\nBot: What's your phone number?\nUser: 0612345678\n",
    )
    expect(afterPhone?.state).toMatchObject({ at: null, waiting: null, ended: true, calls: 1 })
  })

  it('follows a choice’s own next and matches buttons by label, case-insensitively', () => {
    const [, result] = converse(leadGen, ['  book A DEMO '])
    expect(shown(result!)).toEqual(["What's your email address?"])
    expect(result?.state.messages.at(-2)).toEqual({ from: 'user', text: 'book A DEMO' })
  })

  it('asks again with a retry prompt when an answer is invalid', () => {
    const [, , retry, retryPhone] = converse(leadGen, ['Just browsing', 'not an email', '12'])
    expect(shown(retry!)).toEqual([DEFAULT_RETRY_TEXTS.email])
    expect(retry?.input).toEqual({ type: 'email' })
    expect(retry?.state).toMatchObject({ at: 'ask-email', waiting: 'input' })
    expect(retry?.state.context).toEqual([])
    // Still on the email question: "12" is not an email either.
    expect(shown(retryPhone!)).toEqual([DEFAULT_RETRY_TEXTS.email])
    expect(retryPhone?.state.messages.slice(-4)).toEqual([
      { from: 'user', text: 'not an email' },
      { from: 'bot', text: DEFAULT_RETRY_TEXTS.email },
      { from: 'user', text: '12' },
      { from: 'bot', text: DEFAULT_RETRY_TEXTS.email },
    ])
  })

  it('asks again when no button matches', () => {
    const [, result] = converse(leadGen, ['maybe'])
    expect(shown(result!)).toEqual([DEFAULT_RETRY_TEXTS.buttons])
    expect(result?.input).toEqual({
      type: 'buttons',
      choices: [{ label: 'Just browsing' }, { label: 'Book a demo' }],
    })
  })

  it('leaves the caller’s state untouched (pure)', () => {
    const [start] = converse(leadGen, [])
    const before = structuredClone(start!.state)
    step(leadGen, start!.state, reply('Just browsing'))
    expect(start!.state).toEqual(before)
  })
})

describe('a synchronous webhook', () => {
  const orderBot = bot({
    id: 'orders',
    start: 'ask-order',
    blocks: [
      {
        id: 'ask-order',
        type: 'question',
        answer: 'text',
        text: 'Your order number?',
        saveAnswerTo: 'order',
        next: 'lookup',
      },
      { id: 'lookup', type: 'webhook', webhook: 'shop', onError: 'sorry', next: 'status' },
      { id: 'status', type: 'text', text: 'Status: {{delivery_status}} ({{ delivery_method }}).' },
      { id: 'sorry', type: 'text', text: 'Sorry, our shop is not answering.' },
    ],
  })

  function waiting(): StepResult {
    const start = step(orderBot, null, { type: 'start' })
    return step(orderBot, start.state, reply('A-1234'))
  }

  it('waits for the outcome with no input, and hands the host the exact payload', () => {
    const result = waiting()
    expect(result.input).toBeNull()
    expect(result.ended).toBe(false)
    expect(result.state).toMatchObject({ at: 'lookup', waiting: 'webhook', calls: 1 })
    expect(result.effects).toEqual([
      {
        type: 'webhook',
        callId: 'call-1',
        blockId: 'lookup',
        webhook: 'shop',
        async: false,
        body: '{\n  "order": "A-1234",\n  "conversation": "Bot: Your order number?\\nUser: A-1234\\n"\n}',
      },
    ])
  })

  it('shows two "responses" text messages with 2000 ms delays (Joonbot example 2)', () => {
    const outcome = parseWebhookReply({
      status: 200,
      body: JSON.stringify({
        responses: [
          {
            type: 'text',
            delay: 2000,
            elements: [{ label: 'Good morning John', order: 1, placeholder: null }],
          },
          {
            type: 'text',
            delay: 2000,
            elements: [{ label: 'Your order is on its way', order: 1, placeholder: null }],
          },
        ],
      }),
    })
    const result = step(orderBot, waiting().state, { type: 'webhook', callId: 'call-1', outcome })
    expect(result.responses.slice(0, 2)).toEqual([
      {
        type: 'text',
        delay: 2000,
        elements: [{ label: 'Good morning John', order: 1, placeholder: null }],
      },
      {
        type: 'text',
        delay: 2000,
        elements: [{ label: 'Your order is on its way', order: 1, placeholder: null }],
      },
    ])
    expect(shown(result)).toEqual(['Good morning John', 'Your order is on its way', 'Status:  ().'])
    expect(result.state.messages.slice(-3).map((message) => message.text)).toEqual(shown(result))
    expect(result.ended).toBe(true)
  })

  it('merges a reply’s keys that a later text block shows (Joonbot example 3)', () => {
    const outcome = parseWebhookReply({
      status: 200,
      body: '{"delivery_status":"delivered","delivery_method":"eco"}',
    })
    const result = step(orderBot, waiting().state, { type: 'webhook', callId: 'call-1', outcome })
    expect(shown(result)).toEqual(['Status: delivered (eco).'])
    expect(result.state.context).toEqual([
      ['order', 'A-1234'],
      ['delivery_status', 'delivered'],
      ['delivery_method', 'eco'],
    ])
  })

  it('overwrites merged variables in place and appends new ones', () => {
    const result = step(orderBot, waiting().state, {
      type: 'webhook',
      callId: 'call-1',
      outcome: {
        kind: 'merge',
        variables: [
          ['extra', 1],
          ['order', { id: 'A-1234', items: 2 }],
        ],
      },
    })
    expect(result.state.context).toEqual([
      ['order', { id: 'A-1234', items: 2 }],
      ['extra', 1],
    ])
  })

  it('goes on to next on an empty reply', () => {
    const result = step(orderBot, waiting().state, {
      type: 'webhook',
      callId: 'call-1',
      outcome: { kind: 'none' },
    })
    expect(shown(result)).toEqual(['Status:  ().'])
  })

  it('goes to onError on a failure, leaving the context untouched', () => {
    const before = waiting().state
    const result = step(orderBot, before, {
      type: 'webhook',
      callId: 'call-1',
      outcome: { kind: 'failure', reason: 'HTTP 500' },
    })
    expect(shown(result)).toEqual(['Sorry, our shop is not answering.'])
    expect(result.state.context).toEqual(before.context)
  })

  it('goes to next on a failure when there is no onError', () => {
    const noOnError = bot({
      id: 'b',
      start: 'w',
      blocks: [
        { id: 'w', type: 'webhook', webhook: 'x', next: 't' },
        { id: 't', type: 'text', text: 'after' },
      ],
    })
    const start = step(noOnError, null, { type: 'start' })
    expect(start.effects[0]?.body).toBe('{\n  "conversation": ""\n}')
    const result = step(noOnError, start.state, {
      type: 'webhook',
      callId: 'call-1',
      outcome: { kind: 'failure', reason: 'timeout' },
    })
    expect(shown(result)).toEqual(['after'])
  })

  it('refuses a reply while waiting, an unknown call, and anything after the end', () => {
    const state = waiting().state
    expect(() => step(orderBot, state, reply('hello'))).toThrow(
      expect.objectContaining({ name: 'StepError', code: 'unexpected_event' }),
    )
    expect(() =>
      step(orderBot, state, { type: 'webhook', callId: 'call-7', outcome: { kind: 'none' } }),
    ).toThrow(expect.objectContaining({ code: 'unexpected_event' }))
    const ended = step(orderBot, state, {
      type: 'webhook',
      callId: 'call-1',
      outcome: { kind: 'none' },
    }).state
    expect(() => step(orderBot, ended, reply('hi'))).toThrow(
      expect.objectContaining({ code: 'ended' }),
    )
    expect(() =>
      step(orderBot, ended, { type: 'webhook', callId: 'call-1', outcome: { kind: 'none' } }),
    ).toThrow(StepError)
  })

  it('refuses an outcome while waiting for a reply, and a second start', () => {
    const start = step(orderBot, null, { type: 'start' })
    expect(() =>
      step(orderBot, start.state, { type: 'webhook', callId: 'call-0', outcome: { kind: 'none' } }),
    ).toThrow(expect.objectContaining({ code: 'unexpected_event' }))
    expect(() => step(orderBot, start.state, { type: 'start' })).toThrow(
      expect.objectContaining({ code: 'unexpected_event' }),
    )
    expect(() => step(orderBot, null, reply('hi'))).toThrow(
      expect.objectContaining({ code: 'unexpected_event' }),
    )
  })
})

describe('blocks', () => {
  it('text: renders templates, keeps its delay, and ends without next', () => {
    const flow = bot({
      id: 'b',
      start: 'a',
      blocks: [
        {
          id: 'a',
          type: 'text',
          text: 'Hi {{name}}, {{ missing }}{{count}} {{tags}}',
          delay: 1500,
          next: 'b',
        },
        { id: 'b', type: 'text', text: 'Bye' },
      ],
    })
    const result = step(flow, null, {
      type: 'start',
      variables: { name: 'Ada', count: 3, tags: ['a', 'b'] },
    })
    expect(result.responses).toEqual([
      {
        type: 'text',
        delay: 1500,
        elements: [{ label: 'Hi Ada, 3 ["a","b"]', order: 1, placeholder: null }],
      },
      { type: 'text', delay: 0, elements: [{ label: 'Bye', order: 1, placeholder: null }] },
    ])
    expect(result).toMatchObject({ ended: true, input: null, effects: [] })
    expect(result.state.messages).toEqual([
      { from: 'bot', text: 'Hi Ada, 3 ["a","b"]' },
      { from: 'bot', text: 'Bye' },
    ])
  })

  it('question: offers its placeholder, saves numbers as JSON numbers, uses retryText', () => {
    const flow = bot({
      id: 'b',
      start: 'q',
      blocks: [
        {
          id: 'q',
          type: 'question',
          answer: 'number',
          text: 'How many seats, {{name}}?',
          placeholder: 'e.g. 5',
          retryText: 'A number please, {{name}}.',
          saveAnswerTo: 'seats',
          next: 't',
        },
        { id: 't', type: 'text', text: '{{seats}} seats it is.' },
      ],
    })
    const start = step(flow, null, { type: 'start', variables: { name: 'Ada' } })
    expect(start.input).toEqual({ type: 'number', placeholder: 'e.g. 5' })
    const retry = step(flow, start.state, reply('many'))
    expect(shown(retry)).toEqual(['A number please, Ada.'])
    expect(retry.input).toEqual({ type: 'number', placeholder: 'e.g. 5' })
    const done = step(flow, retry.state, reply(' 3,5 '))
    expect(done.state.context).toEqual([
      ['name', 'Ada'],
      ['seats', 3.5],
    ])
    expect(shown(done)).toEqual(['3.5 seats it is.'])
  })

  it('question without saveAnswerTo goes on without storing', () => {
    const flow = bot({
      id: 'b',
      start: 'q',
      blocks: [{ id: 'q', type: 'question', answer: 'text', text: 'Anything?' }],
    })
    const done = step(flow, step(flow, null, { type: 'start' }).state, reply('no'))
    expect(done.state.context).toEqual([])
    expect(done.ended).toBe(true)
  })

  it('buttons: saves value ?? label and matches the value too', () => {
    const flow = bot({
      id: 'b',
      start: 'pick',
      blocks: [
        {
          id: 'pick',
          type: 'buttons',
          text: 'Plan?',
          saveAnswerTo: 'plan',
          choices: [{ label: 'Starter plan', value: 'starter', next: 'starter' }, { label: 'Pro' }],
          next: 'other',
        },
        { id: 'starter', type: 'text', text: 'Starter: {{plan}}' },
        { id: 'other', type: 'text', text: 'Other: {{plan}}' },
      ],
    })
    const start = step(flow, null, { type: 'start' })
    expect(shown(step(flow, start.state, reply('STARTER')))).toEqual(['Starter: starter'])
    expect(shown(step(flow, start.state, reply('starter plan')))).toEqual(['Starter: starter'])
    expect(shown(step(flow, start.state, reply('pro')))).toEqual(['Other: Pro'])
  })

  it('async webhook: an effect with the payload of that moment, and the flow goes on', () => {
    const flow = bot({
      id: 'b',
      start: 'n1',
      blocks: [
        { id: 'n1', type: 'webhook', webhook: 'crm', async: true, next: 't' },
        { id: 't', type: 'text', text: 'Hello', next: 'n2' },
        { id: 'n2', type: 'webhook', webhook: 'crm', async: true, onError: 't' },
      ],
    })
    const result = step(flow, null, { type: 'start', variables: { '2': 'two', a: 1 } })
    expect(result.ended).toBe(true)
    expect(
      result.effects.map(({ callId, blockId, async, body }) => ({ callId, blockId, async, body })),
    ).toEqual([
      {
        callId: 'call-1',
        blockId: 'n1',
        async: true,
        body: '{\n  "2": "two",\n  "a": 1,\n  "conversation": ""\n}',
      },
      {
        callId: 'call-2',
        blockId: 'n2',
        async: true,
        body: '{\n  "2": "two",\n  "a": 1,\n  "conversation": "Bot: Hello\\n"\n}',
      },
    ])
  })

  it('condition: first matching rule wins, else otherwise, end without else', () => {
    const flow = bot({
      id: 'b',
      start: 'route',
      blocks: [
        {
          id: 'route',
          type: 'condition',
          rules: [
            { variable: 'plan', op: 'equals', value: 'pro', next: 'pro' },
            { variable: 'seats', op: 'gt', value: 10, next: 'big' },
          ],
          else: 'small',
        },
        { id: 'pro', type: 'text', text: 'pro' },
        { id: 'big', type: 'text', text: 'big' },
        { id: 'small', type: 'text', text: 'small' },
        { id: 'bare', type: 'condition', rules: [{ variable: 'x', op: 'is_set', next: 'pro' }] },
      ],
    })
    const run = (variables: Record<string, unknown>) =>
      shown(step(flow, null, { type: 'start', variables }))
    expect(run({ plan: 'pro', seats: 50 })).toEqual(['pro'])
    expect(run({ plan: 'Pro', seats: 50 })).toEqual(['big'])
    expect(run({ seats: '11' })).toEqual(['big'])
    expect(run({ seats: 3 })).toEqual(['small'])
    expect(run({})).toEqual(['small'])
    const bare = bot({ ...flowInput(flow), start: 'bare' })
    expect(step(bare, null, { type: 'start' })).toMatchObject({ ended: true, responses: [] })
  })
})

function flowInput(flow: typeof leadGen): Record<string, unknown> {
  return JSON.parse(JSON.stringify(flow)) as Record<string, unknown>
}

describe('start variables', () => {
  it('keeps JSON values in order and drops forbidden keys and non-JSON values', () => {
    const variables = JSON.parse(
      '{"__proto__":{"x":1},"b":1,"a":{"constructor":2,"ok":true}}',
    ) as Record<string, unknown>
    Object.assign(variables, {
      fn: () => 1,
      big: 10n,
      nan: Number.NaN,
      when: new Date(0),
      prototype: 'p',
      constructor: 'c',
    })
    const result = step(leadGen, null, { type: 'start', variables })
    expect(result.state.context).toEqual([
      ['b', 1],
      ['a', { ok: true }],
    ])
  })

  it('leaves the variable named "conversation" out of the payload: the transcript wins', () => {
    const flow = bot({
      id: 'b',
      start: 'w',
      blocks: [{ id: 'w', type: 'webhook', webhook: 'x', async: true }],
    })
    const result = step(flow, null, { type: 'start', variables: { conversation: 'mine', a: 1 } })
    expect(JSON.parse(result.effects[0]!.body)).toEqual({ a: 1, conversation: '' })
    expect(result.state.context).toEqual([
      ['conversation', 'mine'],
      ['a', 1],
    ])
  })
})

describe('safety', () => {
  it('ends a runaway flow instead of hanging (unvalidated bot)', () => {
    // validateBot refuses this loop; step must still survive it.
    const looping = {
      id: 'b',
      start: 'a',
      blocks: [
        { id: 'a', type: 'text' as const, text: 'again', next: 'b' },
        { id: 'b', type: 'condition' as const, rules: [], else: 'a' },
      ],
    }
    const result = step(looping, null, { type: 'start' })
    expect(result.ended).toBe(true)
    expect(result.guard).toBe('blocks')
    expect(result.responses).toHaveLength(MAX_BLOCKS_PER_STEP / 2)
  })

  it('throws unknown_block for a dangling reference (unvalidated bot)', () => {
    const broken = {
      id: 'b',
      start: 'nowhere',
      blocks: [{ id: 'a', type: 'text' as const, text: 'x' }],
    }
    expect(() => step(broken, null, { type: 'start' })).toThrow(
      expect.objectContaining({ code: 'unknown_block' }),
    )
  })

  it('keeps state plain JSON that round-trips', () => {
    const [, , afterEmail] = converse(leadGen, ['Just browsing', 'nicolas@joonbot.com'])
    const state = afterEmail!.state
    const copy = JSON.parse(JSON.stringify(state)) as ConversationState
    expect(copy).toEqual(state)
    expect(shown(step(leadGen, copy, reply('+33 6 12 34 56 78')))).toEqual([
      'Thanks! We will write to nicolas@joonbot.com.',
    ])
  })
})

describe('currentInput', () => {
  it('gives the input a stored conversation waits for, null at the end or on a webhook', () => {
    const [start, , afterEmail, done] = converse(leadGen, [
      'Just browsing',
      'nicolas@joonbot.com',
      '0612345678',
    ])
    expect(currentInput(leadGen, start!.state)).toEqual(start!.input)
    expect(currentInput(leadGen, afterEmail!.state)).toEqual({ type: 'phone' })
    expect(currentInput(leadGen, done!.state)).toBeNull()
    expect(currentInput(leadGen, { ...afterEmail!.state, waiting: 'webhook' })).toBeNull()
  })
})

describe('visited blocks (for the results funnel)', () => {
  it('lists the blocks each step showed or ran, once, and none for an invalid answer', () => {
    const steps = converse(leadGen, ['Just browsing', 'not an email', 'nicolas@joonbot.com'])
    expect(steps.map((result) => result.visited)).toEqual([
      ['welcome'],
      ['ask-email'],
      [],
      ['ask-phone'],
    ])
  })
})
