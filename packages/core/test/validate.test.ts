import { describe, expect, it } from 'vitest'
import { formatBotIssues, validateBot } from '../src/index.js'
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
      'Block "x": field "type" must be one of text, question, buttons, webhook, condition.',
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
