// Steps per second of the interpreter: `pnpm bench` in packages/core. Each benchmarked call is
// exactly one `step`, so vitest's hz column reads as steps/s.
import { bench, describe } from 'vitest'
import {
  type Block,
  type Bot,
  type ConversationState,
  type StepEvent,
  step,
  validateBot,
} from '../src/index.js'
import { leadGen } from '../test/fixtures.js'

type Call = [ConversationState | null, StepEvent]

/** The lead-generation conversation of the contract, step by step (the last one builds the payload). */
function leadGenCalls(): Call[] {
  const events: StepEvent[] = [
    { type: 'start' },
    { type: 'reply', text: 'Just browsing' },
    { type: 'reply', text: 'nicolas@joonbot.com' },
    { type: 'reply', text: '0612345678' },
  ]
  const calls: Call[] = []
  let state: ConversationState | null = null
  for (const event of events) {
    calls.push([state, event])
    state = step(leadGen, state, event).state
  }
  return calls
}

/**
 * 10,000 blocks in 2,500 units of question → text → condition → buttons, each unit leading to
 * the next; every step runs four blocks, like a lead-gen step.
 */
function largeBot(units: number): Bot {
  const blocks: Block[] = []
  for (let i = 0; i < units; i++) {
    const next = i + 1 < units ? { next: `q${i + 1}` } : {}
    blocks.push(
      {
        id: `q${i}`,
        type: 'question',
        answer: 'email',
        text: `Question ${i}?`,
        saveAnswerTo: `v${i % 20}`,
        next: `t${i}`,
      },
      { id: `t${i}`, type: 'text', text: `Thanks, {{v${i % 20}}}.`, next: `c${i}` },
      {
        id: `c${i}`,
        type: 'condition',
        rules: [
          { variable: `v${i % 20}`, op: 'equals', value: 'nobody@example.com', next: `q${i}` },
        ],
        else: `b${i}`,
      },
      {
        id: `b${i}`,
        type: 'buttons',
        text: 'Go on?',
        choices: [{ label: 'Yes' }, { label: 'No' }],
        ...next,
      },
    )
  }
  const result = validateBot({ id: 'large', start: 'q0', blocks })
  if (!result.ok) throw new Error(result.issues[0]?.message)
  return result.bot
}

/** States waiting at blocks spread across the whole bot, each with a short real transcript. */
function largeBotCalls(bot: Bot, count: number): Call[] {
  let state = step(bot, null, { type: 'start' }).state
  for (const text of ['ada@example.com', 'Yes', 'bob@example.com', 'Yes'])
    state = step(bot, state, { type: 'reply', text }).state
  const units = bot.blocks.length / 4
  const calls: Call[] = []
  for (let k = 0; k < count; k++) {
    const unit = Math.floor((k * 7919) % units)
    const atButtons = k % 2 === 1
    calls.push([
      { ...state, at: atButtons ? `b${unit}` : `q${unit}` },
      { type: 'reply', text: atButtons ? 'yes' : 'carol@example.com' },
    ])
  }
  return calls
}

const small = leadGenCalls()
const large = largeBot(2_500)
const spread = largeBotCalls(large, 1_000)
let i = 0
let j = 0

describe('step', () => {
  bench('lead-gen bot (5 blocks): one step', () => {
    const [state, event] = small[i++ % small.length] as Call
    step(leadGen, state, event)
  })

  bench('generated bot (10,000 blocks): one step', () => {
    const [state, event] = spread[j++ % spread.length] as Call
    step(large, state, event)
  })
})
