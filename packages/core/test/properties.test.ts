import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  type Block,
  type Bot,
  type ConversationState,
  FORBIDDEN_KEYS,
  type JsonValue,
  matchChoice,
  parseWebhookReply,
  StepError,
  type StepEvent,
  type StepResult,
  step,
  validateAnswer,
  validateBot,
  type WebhookOutcome,
} from '../src/index.js'
import { shown } from './fixtures.js'

// ---------------------------------------------------------------------------------------------
// Generators. Blocks that do not wait (text, async webhook, condition) only point forward, so
// every loop passes through a question, buttons or a sync webhook: the bots always validate.

const variableNames = ['a', 'email', 'phone_number', '123', 'conversation', 'plan'] as const
const variable = fc.constantFrom(...variableNames)
const labels = ['Yes', 'No', 'Maybe later'] as const
const template = fc.constantFrom(
  'Hello',
  'Hi {{a}}',
  '{{ email }} / {{plan}}',
  'Value: {{123}}',
  '{{missing}}',
  '',
)

function arbBlock(position: number, count: number): fc.Arbitrary<Block> {
  const id = `b${position}`
  const anyTarget = fc.option(
    fc.integer({ min: 0, max: count - 1 }).map((i) => `b${i}`),
    { nil: undefined },
  )
  const forward =
    position + 1 < count
      ? fc.option(
          fc.integer({ min: position + 1, max: count - 1 }).map((i) => `b${i}`),
          { nil: undefined },
        )
      : fc.constant(undefined)
  const forwardRequired = fc
    .integer({ min: Math.min(position + 1, count - 1), max: count - 1 })
    .map((i) => `b${i}`)
  const optional = <K extends string, V>(key: K, value: V | undefined) =>
    (value === undefined ? {} : { [key]: value }) as { [P in K]?: V }

  return fc.oneof(
    fc
      .record({
        text: template,
        delay: fc.option(fc.integer({ min: 0, max: 10_000 }), { nil: undefined }),
        next: forward,
      })
      .map(
        ({ text, delay, next }): Block => ({
          id,
          type: 'text',
          text,
          ...optional('delay', delay),
          ...optional('next', next),
        }),
      ),
    fc
      .record({
        text: template,
        answer: fc.constantFrom('text', 'email', 'phone', 'number', 'url', 'date'),
        saveAnswerTo: fc.option(variable, { nil: undefined }),
        retryText: fc.option(template, { nil: undefined }),
        next: anyTarget,
      })
      .map(
        ({ text, answer, saveAnswerTo, retryText, next }): Block => ({
          id,
          type: 'question',
          text,
          answer,
          ...optional('saveAnswerTo', saveAnswerTo),
          ...optional('retryText', retryText),
          ...optional('next', next),
        }),
      ),
    fc
      .record({
        text: template,
        choices: fc.array(
          fc.record({
            label: fc.constantFrom(...labels),
            value: fc.option(fc.constantFrom('y', 'n', 'later'), { nil: undefined }),
            next: anyTarget,
          }),
          { minLength: 1, maxLength: 3 },
        ),
        saveAnswerTo: fc.option(variable, { nil: undefined }),
        next: anyTarget,
      })
      .map(
        ({ text, choices, saveAnswerTo, next }): Block => ({
          id,
          type: 'buttons',
          text,
          choices: choices.map(({ label, value, next: choiceNext }) => ({
            label,
            ...optional('value', value),
            ...optional('next', choiceNext),
          })),
          ...optional('saveAnswerTo', saveAnswerTo),
          ...optional('next', next),
        }),
      ),
    fc
      .record({ async: fc.boolean(), next: anyTarget, forwardNext: forward, onError: anyTarget })
      .map(
        ({ async, next, forwardNext, onError }): Block => ({
          id,
          type: 'webhook',
          webhook: 'hook',
          async,
          ...optional('next', async ? forwardNext : next),
          ...optional('onError', onError),
        }),
      ),
    fc
      .record({
        rules: fc.array(
          fc.record({
            variable,
            op: fc.constantFrom(
              'equals',
              'not_equals',
              'contains',
              'gt',
              'lt',
              'is_set',
              'is_not_set',
            ),
            value: fc.option(
              fc.oneof(fc.constantFrom('Yes', 'y', '42', ''), fc.integer(), fc.boolean()),
              { nil: undefined },
            ),
            next: forwardRequired,
          }),
          { maxLength: 3 },
        ),
        else: forward,
      })
      .filter(({ rules }) => position + 1 < count || rules.length === 0)
      .map(
        ({ rules, else: otherwise }): Block => ({
          id,
          type: 'condition',
          rules: rules.map(({ value, ...rule }) => ({ ...rule, ...optional('value', value) })),
          ...optional('else', otherwise),
        }),
      ),
  )
}

const arbBot: fc.Arbitrary<Bot> = fc
  .integer({ min: 1, max: 10 })
  .chain((count) => fc.tuple(...Array.from({ length: count }, (_, i) => arbBlock(i, count))))
  .map((blocks) => ({ id: 'generated', start: 'b0', blocks }))

const jsonValue: fc.Arbitrary<JsonValue> = fc
  .jsonValue({ maxDepth: 3 })
  .map((value) => JSON.parse(JSON.stringify(value)) as JsonValue)

const outcome: fc.Arbitrary<WebhookOutcome> = fc.oneof(
  fc.constant({ kind: 'none' } as const),
  fc.constant({ kind: 'failure', reason: 'HTTP 500' } as const),
  fc
    .array(fc.tuple(fc.constantFrom(...variableNames, '__proto__', 'delivery_status'), jsonValue), {
      maxLength: 4,
    })
    .map((variables) => ({ kind: 'merge', variables }) as const),
  fc
    .array(
      fc.record({ label: fc.string({ maxLength: 20 }), order: fc.integer({ min: 0, max: 3 }) }),
      { maxLength: 3 },
    )
    .map((elements) =>
      parseWebhookReply({
        status: 200,
        body: JSON.stringify({ responses: [{ type: 'text', delay: 2000, elements }] }),
      }),
    ),
  fc
    .tuple(fc.integer({ min: 100, max: 599 }), fc.oneof(fc.json(), fc.string()))
    .map(([status, body]) => parseWebhookReply({ status, body })),
)

const replyText = fc.oneof(
  fc.constantFrom(
    'yes',
    'NO',
    ' maybe later ',
    'y',
    'nicolas@joonbot.com',
    '0612345678',
    '+33 6 12 34 56 78',
    '42',
    '3,5',
    '-0',
    'example.com',
    '2025-12-31',
    '',
    '{{a}}',
  ),
  fc.string({ maxLength: 30 }),
)

const action = fc.oneof(
  replyText.map((text) => ({ kind: 'reply' as const, text })),
  outcome.map((value) => ({ kind: 'outcome' as const, value })),
)

// ---------------------------------------------------------------------------------------------
// The model: what the context must hold given the answers and merges so far.

function clean(value: JsonValue): JsonValue {
  return JSON.parse(JSON.stringify(value), (key, item: unknown) =>
    FORBIDDEN_KEYS.has(key) ? undefined : item,
  ) as JsonValue
}

function blockOf(bot: Bot, id: string | null): Block {
  const block = bot.blocks.find((candidate) => candidate.id === id)
  if (!block) throw new Error(`no block ${id}`)
  return block
}

function expectedSaves(
  bot: Bot,
  state: ConversationState,
  event: StepEvent,
): [string, JsonValue][] {
  if (event.type === 'reply') {
    const block = blockOf(bot, state.at)
    if (block.type === 'question' && block.saveAnswerTo) {
      const answer = validateAnswer(block.answer, event.text)
      return answer.ok ? [[block.saveAnswerTo, answer.value]] : []
    }
    if (block.type === 'buttons' && block.saveAnswerTo) {
      const choice = matchChoice(block, event.text)
      return choice ? [[block.saveAnswerTo, choice.value ?? choice.label]] : []
    }
    return []
  }
  if (event.type === 'webhook' && event.outcome.kind === 'merge') {
    return event.outcome.variables
      .filter(([name]) => !FORBIDDEN_KEYS.has(name))
      .map(([name, value]) => [name, clean(value)])
  }
  return []
}

function checkResult(
  previous: ConversationState | null,
  event: StepEvent,
  result: StepResult,
): void {
  const { state } = result
  // Plain JSON that survives a store unchanged.
  expect(JSON.parse(JSON.stringify(state))).toStrictEqual(state)
  expect(state.v).toBe(1)
  // Every message shown is in the transcript, after the user's line, in order.
  const before = previous?.messages ?? []
  expect(state.messages.slice(0, before.length)).toStrictEqual(before)
  const added = state.messages.slice(before.length)
  const userLines = event.type === 'reply' ? [{ from: 'user', text: event.text.trim() }] : []
  expect(added).toStrictEqual([
    ...userLines,
    ...shown(result).map((text) => ({ from: 'bot', text })),
  ])
  // The input matches the state.
  expect(result.ended).toBe(state.ended)
  if (state.ended) expect(state).toMatchObject({ at: null, waiting: null })
  expect(result.input === null).toBe(state.waiting !== 'input')
  const sync = result.effects.filter((effect) => !effect.async)
  expect(sync.length).toBe(state.waiting === 'webhook' ? 1 : 0)
  // Context: unique names, none forbidden.
  const names = state.context.map(([name]) => name)
  expect(new Set(names).size).toBe(names.length)
  for (const name of names) expect(FORBIDDEN_KEYS.has(name)).toBe(false)
  for (const effect of result.effects) expect(() => JSON.parse(effect.body)).not.toThrow()
}

describe('the interpreter, for any valid bot and any sequence of events', () => {
  it('generated bots validate', () => {
    fc.assert(
      fc.property(arbBot, (bot) => {
        const result = validateBot(bot, { webhooks: ['hook'] })
        expect(result.ok ? [] : result.issues).toEqual([])
      }),
      { numRuns: 300 },
    )
  })

  it('never throws, keeps JSON state, shows only what the transcript holds, loses no answer', () => {
    fc.assert(
      fc.property(
        arbBot,
        fc.dictionary(fc.constantFrom(...variableNames, 'constructor'), jsonValue, { maxKeys: 3 }),
        fc.array(action, { maxLength: 25 }),
        (bot, variables, actions) => {
          const model = new Map<string, JsonValue>()
          for (const [name, value] of Object.entries(variables))
            if (!FORBIDDEN_KEYS.has(name)) model.set(name, clean(value))
          const startEvent: StepEvent = { type: 'start', variables }
          let result = step(bot, null, startEvent)
          checkResult(null, startEvent, result)
          for (const next of actions) {
            if (result.ended) break
            const state = result.state
            const pending = result.effects.find((effect) => !effect.async)
            let event: StepEvent
            if (state.waiting === 'input') {
              event = { type: 'reply', text: next.kind === 'reply' ? next.text : 'yes' }
            } else {
              event = {
                type: 'webhook',
                callId: pending!.callId,
                outcome: next.kind === 'outcome' ? next.value : { kind: 'none' },
              }
            }
            for (const [name, value] of expectedSaves(bot, state, event)) model.set(name, value)
            result = step(bot, state, event)
            checkResult(state, event, result)
            const context = new Map(result.state.context)
            for (const [name, value] of model) expect(context.get(name)).toStrictEqual(value)
          }
        },
      ),
      { numRuns: 1000 },
    )
  })

  it('throws nothing but StepError for events that do not fit', () => {
    fc.assert(
      fc.property(
        arbBot,
        fc.array(action, { maxLength: 10 }),
        fc.array(fc.constantFrom('reply', 'webhook', 'start'), { maxLength: 10 }),
        (bot, actions, kinds) => {
          let state = null as ConversationState | null
          for (const [i, kind] of kinds.entries()) {
            const next = actions[i]
            const event: StepEvent =
              kind === 'reply'
                ? { type: 'reply', text: next?.kind === 'reply' ? next.text : 'yes' }
                : kind === 'webhook'
                  ? {
                      type: 'webhook',
                      callId: `call-${state?.calls ?? 0}`,
                      outcome: next?.kind === 'outcome' ? next.value : { kind: 'none' },
                    }
                  : { type: 'start' }
            try {
              state = step(bot, state, event).state
            } catch (error) {
              expect(error).toBeInstanceOf(StepError)
            }
          }
        },
      ),
      { numRuns: 500 },
    )
  })
})
