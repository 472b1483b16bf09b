import { describe, expect, it } from 'vitest'
import {
  CONVERSATION_LIMIT_NOTICE,
  type ConversationState,
  MAX_MESSAGES_PER_CONVERSATION,
  MAX_MESSAGES_PER_REPLY,
  MAX_TRANSCRIPT_BYTES,
  parseWebhookReply,
  runTurn,
  type StepResult,
  step,
  transcriptOf,
} from '../src/index.js'
import { bot } from './fixtures.js'

/** Asks the same question forever: every reply adds two messages. */
const chatty = bot({
  id: 'chatty',
  start: 'ask',
  blocks: [{ id: 'ask', type: 'question', answer: 'text', text: 'And then?', next: 'ask' }],
})

/** Replies `text` until the conversation ends (or `max` turns). */
function talk(text: string, max: number): { turns: number; last: StepResult } {
  let last = step(chatty, null, { type: 'start' })
  let turns = 0
  while (!last.ended && turns < max) {
    last = step(chatty, last.state, { type: 'reply', text })
    turns++
  }
  return { turns, last }
}

describe('conversation limits', () => {
  it(`ends a conversation at ${MAX_MESSAGES_PER_CONVERSATION} messages, saying why`, () => {
    const { turns, last } = talk('yes', MAX_MESSAGES_PER_CONVERSATION)
    expect(last.ended).toBe(true)
    expect(last.input).toBeNull()
    expect(last.guard).toBe('conversation_size')
    // The visitor's last reply is kept, then the notice is the conversation's last message.
    expect(last.state.messages.at(-1)).toEqual({ from: 'bot', text: CONVERSATION_LIMIT_NOTICE })
    expect(last.responses.at(-1)?.elements[0]?.label).toBe(CONVERSATION_LIMIT_NOTICE)
    expect(last.state.messages.length).toBeLessThanOrEqual(MAX_MESSAGES_PER_CONVERSATION + 2)
    expect(turns).toBe(Math.ceil((MAX_MESSAGES_PER_CONVERSATION - 1) / 2))
    expect(() => step(chatty, last.state, { type: 'reply', text: 'more' })).toThrow(/ended/)
  })

  it('ends a conversation whose transcript reaches the byte limit, counting UTF-8', () => {
    // 10,000 characters a reply, as a red team sent; é is 2 bytes in UTF-8.
    const { turns, last } = talk('é'.repeat(10_000), 1_000)
    expect(last.guard).toBe('conversation_size')
    expect(turns).toBe(Math.ceil(MAX_TRANSCRIPT_BYTES / 20_000))
    const bytes = new TextEncoder().encode(transcriptOf(last.state)).byteLength
    expect(bytes).toBeGreaterThan(MAX_TRANSCRIPT_BYTES)
    expect(bytes).toBeLessThan(MAX_TRANSCRIPT_BYTES + 20_200)
  })

  it('lets a conversation just under both limits go on', () => {
    const state = talk('yes', 1).last.state
    const near: ConversationState = {
      ...state,
      messages: Array.from({ length: MAX_MESSAGES_PER_CONVERSATION - 3 }, (_, i) => ({
        from: i % 2 === 0 ? 'bot' : 'user',
        text: 'x'.repeat(40),
      })),
    }
    const next = step(chatty, near, { type: 'reply', text: 'yes' })
    expect(next.ended).toBe(false)
    expect(next.guard).toBeUndefined()
  })

  it(`shows at most ${MAX_MESSAGES_PER_REPLY} messages of one webhook reply, counting the rest as skipped`, async () => {
    const flood = bot({
      id: 'flood',
      start: 'hook',
      blocks: [
        { id: 'hook', type: 'webhook', webhook: 'news', next: 'ask' },
        { id: 'ask', type: 'question', answer: 'text', text: 'Anything else?' },
      ],
    })
    const element = (i: number) => ({ label: `News ${i}`, order: i })
    const body = JSON.stringify({
      responses: [
        { type: 'text', elements: Array.from({ length: 60 }, (_, i) => element(i)) },
        { type: 'text', elements: Array.from({ length: 60 }, (_, i) => element(60 + i)) },
        ...Array.from({ length: 9_998 }, (_, i) => ({ type: 'text', elements: [element(i)] })),
      ],
    })
    const outcome = parseWebhookReply({ status: 200, body })
    expect(outcome).toMatchObject({ kind: 'responses', skipped: 9_999 })
    const result = await runTurn(
      flood,
      null,
      { type: 'start' },
      { callWebhook: async () => outcome },
    )
    const labels = result.responses.flatMap((r) => r.elements.map((e) => e.label))
    expect(labels).toHaveLength(MAX_MESSAGES_PER_REPLY + 1)
    expect(labels.slice(0, 2)).toEqual(['News 0', 'News 1'])
    expect(labels.at(-2)).toBe('News 99')
    expect(labels.at(-1)).toBe('Anything else?')
  })
})
