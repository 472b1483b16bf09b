import { describe, expect, it } from 'vitest'
import {
  CONVERSATION_LIMIT_NOTICE,
  type ConversationState,
  MAX_MESSAGES_PER_CONVERSATION,
  MAX_TRANSCRIPT_BYTES,
  type Message,
  runTurn,
  StepError,
  type StepEvent,
  type StepResult,
  setMessagesApart,
  step,
  transcriptBytes,
  transcriptOf,
} from '../src/index.js'
import { bot } from './fixtures.js'

/** Asks a name, then loops on a question; "hook" sends the transcript to a webhook first. */
const shop = bot({
  id: 'shop',
  start: 'name',
  blocks: [
    {
      id: 'name',
      type: 'question',
      answer: 'text',
      text: 'Your name?',
      saveAnswerTo: 'name',
      next: 'ask',
    },
    {
      id: 'ask',
      type: 'buttons',
      text: 'Anything else, {{name}}?',
      choices: [{ label: 'More' }, { label: 'Hook', next: 'hook' }],
      next: 'ask',
    },
    { id: 'hook', type: 'webhook', webhook: 'crm', next: 'ask' },
  ],
})

/** A host that keeps messages apart: what it stores, and how it runs a turn. */
class ApartHost {
  kept: Message[] = []
  state: ConversationState | null = null
  loads = 0
  bodies: string[] = []

  async turn(event: StepEvent): Promise<StepResult> {
    const callWebhook = async (effect: { body: string }) => {
      this.bodies.push(effect.body)
      return { kind: 'responses' as const, responses: [], skipped: 0 }
    }
    let result: StepResult
    try {
      result = await runTurn(shop, this.state, event, { callWebhook })
    } catch (error) {
      if (!(error instanceof StepError) || error.code !== 'transcript_needed' || !this.state)
        throw error
      this.loads++
      const { earlier: _, ...rest } = this.state
      const whole = { ...rest, messages: [...this.kept, ...this.state.messages] }
      result = await runTurn(shop, whole, event, { callWebhook })
      const state = { ...result.state, messages: result.state.messages.slice(this.kept.length) }
      if (this.state.earlier) state.earlier = this.state.earlier
      result = { ...result, state }
    }
    const apart = setMessagesApart(result.state)
    expect(apart.from).toBe(this.kept.length)
    this.kept.push(...apart.messages)
    this.state = apart.state
    return result
  }
}

describe('messages kept apart from the state', () => {
  it('gives the same turns and transcript as a state holding every message', async () => {
    const host = new ApartHost()
    let whole: ConversationState | null = null
    const events: StepEvent[] = [
      { type: 'start' },
      { type: 'reply', text: 'Ada' },
      { type: 'reply', text: 'More' },
      { type: 'reply', text: 'Hook' },
      { type: 'reply', text: 'nonsense' },
      { type: 'reply', text: 'Hook' },
    ]
    const bodies: string[] = []
    for (const event of events) {
      const apart = await host.turn(event)
      const full = await runTurn(shop, whole, event, {
        callWebhook: async (effect) => {
          bodies.push(effect.body)
          return { kind: 'responses', responses: [], skipped: 0 }
        },
      })
      whole = full.state
      expect(apart.responses).toEqual(full.responses)
      expect(apart.input).toEqual(full.input)
      expect(host.kept).toEqual(whole.messages)
      expect(host.state?.earlier).toEqual({
        messages: whole.messages.length,
        bytes: transcriptBytes(whole.messages),
      })
      expect(host.state?.messages).toEqual([])
    }
    // Only the turns that reached the webhook needed the messages' text.
    expect(host.loads).toBe(2)
    expect(host.bodies).toEqual(bodies)
    expect(bodies.at(-1)).toContain(
      JSON.stringify(transcriptOf({ messages: host.kept.slice(0, -1) })),
    )
  })

  it('throws transcript_needed before any effect when a step needs the text', () => {
    const started = step(shop, null, { type: 'start' })
    const named = step(shop, started.state, { type: 'reply', text: 'Ada' })
    const apart = setMessagesApart(named.state).state
    expect(() => step(shop, apart, { type: 'reply', text: 'Hook' })).toThrow(
      expect.objectContaining({ code: 'transcript_needed' }),
    )
    // Nothing kept apart (a new conversation's first write): nothing is needed.
    const empty = { ...named.state, earlier: { messages: 0, bytes: 0 } }
    expect(step(shop, empty, { type: 'reply', text: 'Hook' }).effects).toHaveLength(1)
  })

  it('keeps `earlier` as is and returns only the messages after it', () => {
    const started = step(shop, null, { type: 'start' })
    const apart = setMessagesApart(started.state).state
    const next = step(shop, apart, { type: 'reply', text: 'Ada' })
    expect(next.state.earlier).toEqual(apart.earlier)
    expect(next.state.messages).toEqual([
      { from: 'user', text: 'Ada' },
      { from: 'bot', text: 'Anything else, Ada?' },
    ])
  })

  it('counts messages kept apart toward the message limit', () => {
    const started = step(shop, null, { type: 'start' })
    const named = step(shop, started.state, { type: 'reply', text: 'Ada' }).state
    const near = { ...named, messages: [], earlier: { messages: 0, bytes: 0 } }
    near.earlier.messages = MAX_MESSAGES_PER_CONVERSATION - 3
    expect(step(shop, near, { type: 'reply', text: 'More' }).ended).toBe(false)
    near.earlier.messages = MAX_MESSAGES_PER_CONVERSATION - 2
    const full = step(shop, near, { type: 'reply', text: 'More' })
    expect(full.guard).toBe('conversation_size')
    expect(full.state.messages.at(-1)).toEqual({ from: 'bot', text: CONVERSATION_LIMIT_NOTICE })
  })

  it('counts their bytes toward the transcript limit', () => {
    const started = step(shop, null, { type: 'start' })
    const named = step(shop, started.state, { type: 'reply', text: 'Ada' }).state
    // "User: More\n" and "Bot: Anything else, Ada?\n": 36 bytes this turn.
    const room = MAX_TRANSCRIPT_BYTES - 36
    const under = { ...named, messages: [], earlier: { messages: 4, bytes: room } }
    expect(step(shop, under, { type: 'reply', text: 'More' }).ended).toBe(false)
    const over = { ...under, earlier: { messages: 4, bytes: room + 1 } }
    expect(step(shop, over, { type: 'reply', text: 'More' }).guard).toBe('conversation_size')
  })
})
