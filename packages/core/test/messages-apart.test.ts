import { describe, expect, it } from 'vitest'
import {
  CONVERSATION_LIMIT_NOTICE,
  type ConversationState,
  INLINE_MESSAGES_KEPT,
  MAX_INLINE_MESSAGES,
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
    if (result.state.earlier === undefined) this.kept = []
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
      { type: 'reply', text: 'Hook' },
      { type: 'reply', text: 'nonsense' },
    ]
    for (let i = 0; i < 60; i++)
      events.push({ type: 'reply', text: i % 20 === 19 ? 'Hook' : 'More' })
    const bodies: string[] = []
    let apartOnce = false
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
      const stored = host.state as ConversationState
      expect([...host.kept, ...stored.messages]).toEqual(whole.messages)
      expect(stored.messages.length).toBeLessThanOrEqual(MAX_INLINE_MESSAGES)
      if (host.kept.length > 0) {
        apartOnce = true
        expect(stored.earlier).toEqual({
          messages: host.kept.length,
          bytes: transcriptBytes(host.kept),
        })
      }
    }
    expect(apartOnce).toBe(true)
    // Only the turns that reached the webhook once messages were apart needed their text: the
    // three hooks after the 16th turn, not the first one.
    expect(host.loads).toBe(3)
    expect(host.bodies).toEqual(bodies)
  })

  it('leaves a short conversation whole, and keeps the last messages of a long one', () => {
    const short = talked(10)
    expect(setMessagesApart(short)).toEqual({ state: short, messages: [], from: 0 })
    const long = talked(MAX_INLINE_MESSAGES + 1)
    const apart = setMessagesApart(long)
    expect(apart.state.messages).toEqual(long.messages.slice(-INLINE_MESSAGES_KEPT))
    expect(apart.messages).toEqual(long.messages.slice(0, -INLINE_MESSAGES_KEPT))
    expect(apart.from).toBe(0)
    expect(apart.state.earlier).toEqual({
      messages: apart.messages.length,
      bytes: utf8(transcriptOf(apart)),
    })
    // Once apart, the next move goes after them.
    const more = { ...apart.state, messages: [...apart.state.messages, ...talked(40).messages] }
    const next = setMessagesApart(more)
    expect(next.from).toBe(apart.messages.length)
    expect(next.state.earlier?.messages).toBe(
      more.messages.length - INLINE_MESSAGES_KEPT + next.from,
    )
  })

  it('throws transcript_needed before any effect when a step needs the text', () => {
    const named = step(shop, null, { type: 'start' })
    const apart = { ...named.state, earlier: { messages: 70, bytes: 2_000 } }
    expect(() => step(shop, { ...apart, at: 'name' }, { type: 'reply', text: 'Ada' })).not.toThrow()
    const asking = step(shop, { ...apart, at: 'name' }, { type: 'reply', text: 'Ada' }).state
    expect(() => step(shop, asking, { type: 'reply', text: 'Hook' })).toThrow(
      expect.objectContaining({ code: 'transcript_needed' }),
    )
    // Nothing kept apart: nothing is needed.
    const none = { ...asking, earlier: { messages: 0, bytes: 0 } }
    expect(step(shop, none, { type: 'reply', text: 'Hook' }).effects).toHaveLength(1)
  })

  it("keeps `earlier` as is and adds the new messages after the state's own", () => {
    const started = step(shop, null, { type: 'start' })
    const apart = { ...started.state, earlier: { messages: 70, bytes: 2_000 } }
    const next = step(shop, apart, { type: 'reply', text: 'Ada' })
    expect(next.state.earlier).toEqual(apart.earlier)
    expect(next.state.messages).toEqual([
      { from: 'bot', text: 'Your name?' },
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

/** A state of `count` messages, alternating bot and visitor. */
function talked(count: number): ConversationState {
  const started = step(shop, null, { type: 'start' }).state
  const messages: Message[] = Array.from({ length: count }, (_, i) => ({
    from: i % 2 === 0 ? 'bot' : 'user',
    text: `Message ${i} ✓`,
  }))
  return { ...started, messages }
}

function utf8(text: string): number {
  return new TextEncoder().encode(text).byteLength
}
