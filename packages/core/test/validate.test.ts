import { describe, expect, it } from 'vitest'
import { Bot, formatBotIssues, MAX_BLOCKS_PER_STEP, step, validateBot } from '../src/index.js'
import { leadGen } from './fixtures.js'

const leadGenInput = () =>
  JSON.parse(JSON.stringify(leadGen)) as { blocks: Record<string, unknown>[] } & Record<
    string,
    unknown
  >

function messages(input: unknown, webhooks?: string[]): string[] {
  const result = validateBot(input, webhooks ? { webhooks } : {})
  if (result.ok) return []
  return result.issues.map((issue) => issue.message)
}

describe('validateBot', () => {
  it('accepts the contract’s example and applies defaults', () => {
    const result = validateBot(leadGenInput(), { webhooks: ['crm'] })
    expect(result.ok).toBe(true)
    const sync = validateBot({
      id: 'b',
      start: 'w',
      blocks: [{ id: 'w', type: 'webhook', webhook: 'crm' }],
    })
    expect(sync.ok && sync.bot.blocks[0]).toEqual({
      id: 'w',
      type: 'webhook',
      webhook: 'crm',
      async: false,
    })
  })

  it('names the block and the field for schema errors', () => {
    const input = leadGenInput()
    input.blocks[1] = { ...input.blocks[1], answer: 'mail', colour: 'red' }
    expect(messages(input)).toEqual([
      'Block "ask-email": field "answer" must be one of text, email, phone, number, url, date.',
      'Block "ask-email": unknown field "colour".',
    ])
  })

  it('lists every problem at once, bot-level first, then block by block', () => {
    const input = {
      id: 'bad id!',
      start: 'welcom',
      extra: true,
      blocks: [
        { id: 'welcome', type: 'text' },
        {
          id: 'ask',
          type: 'question',
          text: 'Q?',
          answer: 'text',
          saveAnswerTo: 'constructor',
          next: 'nowhere',
        },
        { type: 'text', text: 'no id' },
        { id: 'x', type: 'bogus' },
        { id: 'pick', type: 'buttons', text: 'Pick', choices: [] },
        { id: 'slow', type: 'text', text: 'zz', delay: 20_000 },
        {
          id: 'route',
          type: 'condition',
          rules: [{ variable: 'a', op: 'gt', value: { n: 1 }, next: 'welcome' }],
          else: 'slo',
        },
        'not a block',
        { id: 'notify', type: 'webhook', webhook: 'crmm', async: true, next: 'welcome' },
        {
          id: 'pick2',
          type: 'buttons',
          text: 'Pick',
          choices: [{ label: 'A', next: 'gone' }, { label: '' }],
        },
        { id: 'welcome', type: 'text', text: 'again' },
      ],
    }
    expect(messages(input, ['crm'])).toEqual([
      'Bot: field "id" must be 1-64 letters, digits, "_" or "-", starting with a letter or digit.',
      'Bot: unknown field "extra".',
      'Bot: "start" points to "welcom", which is not a block id (did you mean "welcome"?).',
      'Block "welcome": field "text" is required.',
      'Block "ask": field "saveAnswerTo" is a reserved name.',
      'Block "ask": "next" points to "nowhere", which is not a block id.',
      'Block 3 (no id): field "id" is required.',
      'Block "x": field "type" must be one of text, question, buttons, webhook, condition, ai.',
      'Block "pick": field "choices" must not be empty.',
      'Block "slow": field "delay" must be at most 10000.',
      'Block "route": field "rules[0].value" must be a string, a number or a boolean.',
      'Block "route": "else" points to "slo", which is not a block id (did you mean "slow"?).',
      'Block 8 (no id): must be a JSON object with an "id" and a "type".',
      'Block "notify": webhook "crmm" is not registered (registered: crm).',
      'Block "pick2": field "choices[1].label" must not be empty.',
      'Block "pick2": choice "A" points to "gone", which is not a block id.',
      'Block "welcome": block 11 uses the same id as block 1; ids must be unique.',
    ])
  })

  it('gives paths and block ids a program can use', () => {
    const input = leadGenInput()
    input.blocks[2] = { ...input.blocks[2], next: 'notifyy' }
    const result = validateBot(input)
    expect(result).toEqual({
      ok: false,
      issues: [
        {
          path: ['blocks', 2, 'next'],
          blockId: 'ask-phone',
          message:
            'Block "ask-phone": "next" points to "notifyy", which is not a block id (did you mean "notify"?).',
        },
      ],
    })
  })

  it('checks webhook names only when the registered ones are given', () => {
    expect(messages(leadGenInput())).toEqual([])
    expect(messages(leadGenInput(), [])).toEqual([
      'Block "notify": webhook "crm" is not registered (no webhook is registered).',
    ])
  })

  it('checks onError targets', () => {
    const input = leadGenInput()
    input.blocks[3] = { ...input.blocks[3], onError: 'oops' }
    expect(messages(input)).toEqual([
      'Block "notify": "onError" points to "oops", which is not a block id.',
    ])
  })

  it('refuses loops that never wait, and accepts loops through a question or sync webhook', () => {
    const loop = {
      id: 'b',
      start: 'a',
      blocks: [
        { id: 'a', type: 'text', text: 'hi', next: 'b' },
        { id: 'b', type: 'webhook', webhook: 'crm', async: true, next: 'c' },
        {
          id: 'c',
          type: 'condition',
          rules: [{ variable: 'x', op: 'is_set', next: 'end' }],
          else: 'a',
        },
        { id: 'end', type: 'text', text: 'bye', next: 'end' },
      ],
    }
    expect(messages(loop)).toEqual([
      'Block "a": the blocks "a" → "b" → "c" → "a" form a loop with no question, buttons or synchronous webhook, so it would never stop.',
      'Block "end": the blocks "end" → "end" form a loop with no question, buttons or synchronous webhook, so it would never stop.',
    ])
    const waits = structuredClone(loop)
    waits.blocks[1] = { id: 'b', type: 'webhook', webhook: 'crm', async: false, next: 'c' }
    waits.blocks[3] = {
      id: 'end',
      type: 'question',
      text: 'again?',
      answer: 'text',
      next: 'end',
    } as (typeof waits.blocks)[3]
    expect(messages(waits)).toEqual([])
  })

  it('handles a 20,000-block bot quickly and without deep recursion', () => {
    const blocks = Array.from({ length: 20_000 }, (_, i) => ({
      id: `b${i}`,
      type: 'text',
      text: 't',
      next: `b${(i + 1) % 20_000}`,
    }))
    const started = performance.now()
    const found = messages({ id: 'big', start: 'b0', blocks })
    expect(found).toHaveLength(1)
    expect(found[0]).toMatch(
      /^Block "b0": the blocks "b0" → "b1" → .* → "b19999" → "b0" form a loop/,
    )
    expect(performance.now() - started).toBeLessThan(2000)
  })

  it('refuses a chain longer than one turn runs, exactly where step would cut it', () => {
    const chain = (texts: number, then?: Record<string, unknown>) => ({
      id: 'long',
      start: 'intro',
      blocks: [
        { id: 'intro', type: 'question', answer: 'text', text: 'Ready?', next: 't0' },
        ...Array.from({ length: texts }, (_, i) => ({
          id: `t${i}`,
          type: 'text',
          text: `line ${i}`,
          ...(i < texts - 1 ? { next: `t${i + 1}` } : then ? { next: 'last' } : {}),
        })),
        ...(then ? [{ id: 'last', ...then }] : []),
      ],
    })
    const ask = { type: 'question', answer: 'text', text: 'Anything else?' }
    const runAfterIntro = (input: ReturnType<typeof chain>) => {
      const bot = Bot.parse(input)
      const first = step(bot, null, { type: 'start' })
      return step(bot, first.state, { type: 'reply', text: 'yes' })
    }
    // 1,000 blocks in one turn run; the 1,001st is where step's guard cuts.
    for (const input of [chain(MAX_BLOCKS_PER_STEP), chain(MAX_BLOCKS_PER_STEP - 1, ask)]) {
      expect(messages(input)).toEqual([])
      const turn = runAfterIntro(input)
      expect(turn.guard).toBeUndefined()
      expect(turn.responses).toHaveLength(MAX_BLOCKS_PER_STEP)
    }
    const tooLong = chain(MAX_BLOCKS_PER_STEP, ask)
    expect(messages(tooLong)).toEqual([
      'Block "t0": the chain "t0" → … → "last" runs 1001 blocks in one turn with no question, buttons or synchronous webhook between them; a turn stops after 1000 blocks and ends the conversation before "last", so shorten the chain or add a question to it.',
    ])
    expect(runAfterIntro(tooLong)).toMatchObject({ ended: true, guard: 'blocks' })
    // An async webhook does not wait; a synchronous one does, and splits the chain.
    const notify = { type: 'webhook', webhook: 'crm', async: true }
    expect(messages(chain(MAX_BLOCKS_PER_STEP, notify))).toHaveLength(1)
    expect(messages(chain(MAX_BLOCKS_PER_STEP - 1, { ...notify, async: false }))).toEqual([])
  })

  it('measures the longest branch of a chain, from the start or after any wait', () => {
    const texts = (prefix: string, count: number, next?: string) =>
      Array.from({ length: count }, (_, i) => ({
        id: `${prefix}${i}`,
        type: 'text',
        text: 'x',
        ...(i < count - 1 ? { next: `${prefix}${i + 1}` } : next ? { next } : {}),
      }))
    const bot = {
      id: 'branches',
      start: 'pick',
      blocks: [
        {
          id: 'pick',
          type: 'condition',
          rules: [{ variable: 'vip', op: 'is_set', next: 'short0' }],
          else: 'long0',
        },
        ...texts('short', 10, 'ask'),
        ...texts('long', 1200, 'ask'),
        { id: 'ask', type: 'buttons', text: 'More?', choices: [{ label: 'Yes', next: 'more0' }] },
        ...texts('more', 1001),
      ],
    }
    expect(messages(bot)).toEqual([
      expect.stringMatching(
        /^Block "pick": the chain "pick" → … → "ask" runs 1202 blocks .* before "long999",/,
      ),
      expect.stringMatching(
        /^Block "more0": the chain "more0" → … → "more1000" runs 1001 blocks .* before "more1000",/,
      ),
    ])
  })

  it('validates a 20,000-block chain quickly and without deep recursion', () => {
    // Text and condition blocks alternate; the condition's "else" goes on.
    const blocks = Array.from({ length: 20_000 }, (_, i) => {
      const next = i < 19_999 ? `b${i + 1}` : undefined
      return i % 2 === 0
        ? { id: `b${i}`, type: 'text', text: 't', ...(next ? { next } : {}) }
        : { id: `b${i}`, type: 'condition', rules: [], ...(next ? { else: next } : {}) }
    })
    blocks[19_999] = { id: 'b19999', type: 'text', text: 'bye' }
    const started = performance.now()
    expect(messages({ id: 'big', start: 'b0', blocks })).toEqual([
      expect.stringMatching(
        /^Block "b0": the chain "b0" → … → "b19999" runs 20000 blocks .* before "b1000",/,
      ),
    ])
    expect(performance.now() - started).toBeLessThan(2000)
  })

  it('accepts an editor-only layout and refuses a malformed one', () => {
    const layout = { 'ask-email': { x: 10, y: -20.5 }, gone: { x: 0, y: 0 } }
    const result = validateBot({ ...leadGen, layout })
    expect(result.ok && result.bot.layout).toEqual(layout)
    expect(messages({ ...leadGen, layout: { 'ask-email': { x: '1', y: 0 } } })).toEqual([
      expect.stringMatching(/layout/),
    ])
    expect(messages({ ...leadGen, layout: { 'ask-email': { x: 1, y: 2, z: 3 } } })).toHaveLength(1)
    expect(messages({ ...leadGen, layout: { 'bad id!': { x: 1, y: 2 } } })).toHaveLength(1)
  })

  it('refuses what is not a bot at all', () => {
    expect(messages(null)).toEqual(['Bot: must be a JSON object.'])
    expect(messages([])).toEqual(['Bot: must be a JSON object.'])
    expect(messages({})).toEqual([
      'Bot: field "id" is required.',
      'Bot: field "start" is required.',
      'Bot: field "blocks" is required.',
    ])
    expect(messages({ id: 'b', start: 'a', blocks: [] })).toEqual([
      'Bot: field "blocks" must not be empty.',
      'Bot: "start" points to "a", which is not a block id.',
    ])
  })
})

describe('formatBotIssues', () => {
  it('writes one line per issue', () => {
    const result = validateBot({
      id: 'b',
      start: 'x',
      blocks: [{ id: 'a', type: 'text', text: 'hi', next: 'y' }],
    })
    expect(result.ok).toBe(false)
    if (result.ok) return
    expect(formatBotIssues(result.issues)).toBe(
      '- Bot: "start" points to "x", which is not a block id.\n- Block "a": "next" points to "y", which is not a block id.',
    )
  })
})
