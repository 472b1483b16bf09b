import { describe, expect, it } from 'vitest'
import {
  type AiEffect,
  type AiOutcome,
  COLLECT_TOOL_NAME,
  currentInput,
  runTurn,
  step,
  validateBot,
} from '../src/index.js'
import { bot } from './fixtures.js'

const labels = (responses: { elements: { label: string }[] }[]) =>
  responses.map((r) => r.elements[0]!.label)

const support = bot({
  id: 'support',
  start: 'ask',
  blocks: [
    {
      id: 'ask',
      type: 'question',
      answer: 'text',
      text: 'What is your question?',
      saveAnswerTo: 'q',
      next: 'answer',
    },
    {
      id: 'answer',
      type: 'ai',
      model: 'mini',
      instructions: 'You answer questions about {{shop}}. Be brief.',
      maxTurns: 2,
      next: 'bye',
      onError: 'human',
    },
    { id: 'bye', type: 'text', text: 'Glad to help!' },
    { id: 'human', type: 'text', text: 'Someone will write to you.' },
  ],
})

const qualify = bot({
  id: 'qualify',
  start: 'hello',
  blocks: [
    {
      id: 'hello',
      type: 'question',
      answer: 'text',
      text: 'Tell me about your company.',
      next: 'collect',
    },
    {
      id: 'collect',
      type: 'ai',
      model: 'mini',
      instructions: 'Find out the company size and budget.',
      collect: {
        size: { type: 'number', description: 'Number of employees' },
        budget: { type: 'string', description: 'Yearly budget' },
        urgent: { type: 'boolean', description: 'Needs it this month' },
      },
      next: 'thanks',
      onError: 'sorry',
    },
    { id: 'thanks', type: 'text', text: 'Thanks: {{size}} people, {{budget}}, urgent {{urgent}}.' },
    { id: 'sorry', type: 'text', text: 'Let us talk by email.' },
  ],
})

/** A model that gives the outcomes in turn and records what it was asked. */
function model(...outcomes: AiOutcome[]) {
  const calls: AiEffect[] = []
  return {
    calls,
    callModel: async (effect: AiEffect, onDelta?: (text: string) => void) => {
      calls.push(effect)
      const outcome = outcomes.shift() ?? { kind: 'failure', reason: 'no more answers' }
      if (outcome.kind === 'answer')
        for (const word of outcome.text.split(' ')) onDelta?.(`${word} `)
      return outcome
    },
  }
}

const noWebhooks = { callWebhook: async () => ({ kind: 'none' as const }) }

describe('the ai block', () => {
  it('is valid in a bot, with its model checked against the registered ones', () => {
    expect(validateBot(support).ok).toBe(true)
    const unknown = validateBot(support, { models: ['big'] })
    expect(unknown.ok === false && unknown.issues.map((i) => i.message)).toEqual([
      'Block "answer": model "mini" is not registered (registered: big).',
    ])
    const bad = validateBot({
      ...support,
      blocks: [
        {
          id: 'a',
          type: 'ai',
          model: 'm',
          instructions: 'x',
          maxTurns: 21,
          collect: { __proto__x: {} },
        },
      ],
      start: 'a',
    })
    expect(bad.ok).toBe(false)
  })

  it('answers the last message with the instructions as system message, then goes on after maxTurns', async () => {
    const { calls, callModel } = model(
      { kind: 'answer', text: 'We ship in 2 days.' },
      { kind: 'answer', text: 'Yes, to Belgium too.' },
    )
    const deltas: string[] = []
    const started = step(support, null, { type: 'start', variables: { shop: 'Joon Shop' } })
    const first = await runTurn(
      support,
      started.state,
      { type: 'reply', text: 'How fast do you ship?' },
      {
        ...noWebhooks,
        callModel,
        onDelta: (text) => deltas.push(text),
      },
    )
    expect(calls[0]).toEqual({
      type: 'ai',
      callId: 'call-1',
      blockId: 'answer',
      model: 'mini',
      messages: [
        { role: 'system', content: 'You answer questions about Joon Shop. Be brief.' },
        { role: 'assistant', content: 'What is your question?' },
        { role: 'user', content: 'How fast do you ship?' },
      ],
    })
    expect(deltas.join('')).toBe('We ship in 2 days. ')
    expect(labels(first.responses)).toEqual(['We ship in 2 days.'])
    expect(first.input).toEqual({ type: 'text' })
    expect(currentInput(support, first.state)).toEqual({ type: 'text' })
    const second = await runTurn(
      support,
      first.state,
      { type: 'reply', text: 'And to Belgium?' },
      {
        ...noWebhooks,
        callModel,
      },
    )
    expect(calls[1]!.messages.at(-1)).toEqual({ role: 'user', content: 'And to Belgium?' })
    expect(labels(second.responses)).toEqual(['Yes, to Belgium too.', 'Glad to help!'])
    expect(second.ended).toBe(true)
    // The transcript holds the final texts only.
    expect(second.state.messages.map((m) => m.text)).toContain('Yes, to Belgium too.')
  })

  it('goes to onError when the model fails, or when there is no model caller', async () => {
    const started = step(support, null, { type: 'start' })
    const failed = await runTurn(
      support,
      started.state,
      { type: 'reply', text: 'Hi' },
      {
        ...noWebhooks,
        ...model({ kind: 'failure', reason: 'HTTP 500' }),
      },
    )
    expect(labels(failed.responses)).toEqual(['Someone will write to you.'])
    const uncalled = await runTurn(
      support,
      started.state,
      { type: 'reply', text: 'Hi' },
      noWebhooks,
    )
    expect(labels(uncalled.responses)).toEqual(['Someone will write to you.'])
  })

  it('collects typed values through its tool, asking for what is missing meanwhile', async () => {
    const { calls, callModel } = model(
      { kind: 'answer', text: 'How many people work there?' },
      { kind: 'collected', values: { size: '40', budget: ' 20k € ', urgent: 'true', extra: 1 } },
    )
    const started = step(qualify, null, { type: 'start' })
    const asked = await runTurn(
      qualify,
      started.state,
      { type: 'reply', text: 'We sell bikes, budget 20k €, ASAP.' },
      {
        ...noWebhooks,
        callModel,
      },
    )
    expect(calls[0]!.tool).toEqual({
      name: COLLECT_TOOL_NAME,
      description: expect.any(String),
      parameters: {
        type: 'object',
        properties: {
          size: { type: 'number', description: 'Number of employees' },
          budget: { type: 'string', description: 'Yearly budget' },
          urgent: { type: 'boolean', description: 'Needs it this month' },
        },
        required: ['size', 'budget', 'urgent'],
        additionalProperties: false,
      },
    })
    expect(labels(asked.responses)).toEqual(['How many people work there?'])
    const done = await runTurn(
      qualify,
      asked.state,
      { type: 'reply', text: 'About 40.' },
      { ...noWebhooks, callModel },
    )
    expect(labels(done.responses)).toEqual(['Thanks: 40 people, 20k €, urgent true.'])
    expect(done.state.context).toEqual([
      ['size', 40],
      ['budget', '20k €'],
      ['urgent', true],
    ])
    expect(done.state.ai).toBeUndefined()
  })

  it('asks again once after invalid values, and takes onError the second time', async () => {
    const { calls, callModel } = model(
      { kind: 'collected', values: { size: 'forty', budget: '', urgent: true } },
      { kind: 'collected', values: { size: 40 } },
    )
    const started = step(qualify, null, { type: 'start' })
    const result = await runTurn(
      qualify,
      started.state,
      { type: 'reply', text: 'We are 40.' },
      { ...noWebhooks, callModel },
    )
    expect(calls).toHaveLength(2)
    expect(calls[1]!.messages.at(-1)).toEqual({
      role: 'system',
      content: expect.stringContaining('"size" must be a number, "budget" must be a string'),
    })
    expect(labels(result.responses)).toEqual(['Let us talk by email.'])
    expect(result.state.context).toEqual([])
  })

  it('with collect, gives up after maxTurns answers (default 10) without the values', async () => {
    const answers = Array.from(
      { length: 10 },
      (_, i): AiOutcome => ({ kind: 'answer', text: `Question ${i}?` }),
    )
    const { callModel } = model(...answers)
    let state = step(qualify, null, { type: 'start' }).state
    let last = await runTurn(
      qualify,
      state,
      { type: 'reply', text: 'hi' },
      { ...noWebhooks, callModel },
    )
    for (let i = 1; i < 10; i++) {
      state = last.state
      last = await runTurn(
        qualify,
        state,
        { type: 'reply', text: 'hmm' },
        { ...noWebhooks, callModel },
      )
    }
    expect(labels(last.responses)).toEqual(['Question 9?', 'Let us talk by email.'])
    expect(last.ended).toBe(true)
  })

  it('refuses an outcome for another call, and a reply while the model is awaited', () => {
    const started = step(support, null, { type: 'start' })
    const waiting = step(support, started.state, { type: 'reply', text: 'Hi' })
    expect(waiting.aiCall?.callId).toBe('call-1')
    expect(waiting.state.waiting).toBe('ai')
    expect(() => step(support, waiting.state, { type: 'reply', text: 'again' })).toThrow(
      'The conversation is waiting for a model answer, not a reply.',
    )
    expect(() =>
      step(support, waiting.state, {
        type: 'ai',
        callId: 'call-9',
        outcome: { kind: 'answer', text: 'x' },
      }),
    ).toThrow('Model call "call-9" is not pending; "call-1" is.')
  })
})
