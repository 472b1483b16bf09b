import { describe, expect, it } from 'vitest'
import type { ConversationState } from '../src/index.js'
import { buildPayload, transcriptOf } from '../src/index.js'

function stateWith(
  context: ConversationState['context'],
  messages: ConversationState['messages'],
): ConversationState {
  return { v: 1, botId: 'b', at: null, waiting: null, ended: true, context, messages, calls: 0 }
}

const leadGenMessages: ConversationState['messages'] = [
  { from: 'bot', text: 'What brings you here today?' },
  { from: 'user', text: 'Just browsing' },
  { from: 'bot', text: "What's your email address?" },
  { from: 'user', text: 'nicolas@joonbot.com' },
  { from: 'bot', text: "What's your phone number?" },
  { from: 'user', text: '0612345678' },
]

describe('buildPayload', () => {
  it('is byte-for-byte the lead-generation payload of the contract', () => {
    const state = stateWith(
      [
        ['email', 'nicolas@joonbot.com'],
        ['phone_number', '0612345678'],
      ],
      leadGenMessages,
    )
    expect(buildPayload(state)).toBe(`{
  "email": "nicolas@joonbot.com",
  "phone_number": "0612345678",
  "conversation": "Bot: What brings you here today?\\nUser: Just browsing\\nBot: What's your email address?\\nUser: nicolas@joonbot.com\\nBot: What's your phone number?\\nUser: 0612345678\\n"
}`)
  })

  it('keeps the order variables were first set, even for integer-like names', () => {
    const state = stateWith(
      [
        ['zeta', 1],
        ['123', 'x'],
        ['alpha', { nested: [1, { b: true }] }],
      ],
      [],
    )
    const payload = buildPayload(state)
    expect(payload).toBe(`{
  "zeta": 1,
  "123": "x",
  "alpha": {
    "nested": [
      1,
      {
        "b": true
      }
    ]
  },
  "conversation": ""
}`)
    expect(JSON.parse(payload)).toEqual({
      zeta: 1,
      '123': 'x',
      alpha: { nested: [1, { b: true }] },
      conversation: '',
    })
  })

  it('lets the transcript win over a variable named "conversation"', () => {
    const state = stateWith(
      [
        ['conversation', 'mine'],
        ['a', 'b'],
      ],
      [{ from: 'bot', text: 'Hi "you"' }],
    )
    expect(JSON.parse(buildPayload(state))).toEqual({ a: 'b', conversation: 'Bot: Hi "you"\n' })
  })
})

describe('transcriptOf', () => {
  it('writes one Bot:/User: line per message', () => {
    expect(transcriptOf(stateWith([], leadGenMessages))).toBe(
      "Bot: What brings you here today?\nUser: Just browsing\nBot: What's your email address?\nUser: nicolas@joonbot.com\nBot: What's your phone number?\nUser: 0612345678\n",
    )
  })
})
