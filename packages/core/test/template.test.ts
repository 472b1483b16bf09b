import { describe, expect, it } from 'vitest'
import { renderTemplate, ruleHolds } from '../src/index.js'

describe('renderTemplate', () => {
  const context: [string, import('../src/index.js').JsonValue][] = [
    ['name', 'Ada'],
    ['count', 3],
    ['flag', false],
    ['nothing', null],
    ['order', { id: 7, items: ['a'] }],
    ['delivery.status', 'sent'],
  ]

  it('replaces {{name}} and {{ name }} with strings as is and other values as JSON', () => {
    expect(
      renderTemplate(
        'Hi {{name}} / {{ name }} / {{count}} {{flag}} {{nothing}} {{order}}',
        context,
      ),
    ).toBe('Hi Ada / Ada / 3 false null {"id":7,"items":["a"]}')
  })

  it('renders a missing variable as an empty string and leaves non-placeholders alone', () => {
    expect(
      renderTemplate('[{{missing}}] {{ two words }} {name} {{delivery.status}}', context),
    ).toBe('[] {{ two words }} {name} sent')
  })

  it('reads a Map or a plain record too, never the prototype chain', () => {
    expect(renderTemplate('{{a}}', new Map([['a', 1]]))).toBe('1')
    expect(renderTemplate('{{a}}{{constructor}}{{toString}}', { a: 'x' })).toBe('x')
  })
})

describe('ruleHolds', () => {
  const rule = (op: Parameters<typeof ruleHolds>[0]['op'], value?: string | number | boolean) => ({
    variable: 'v',
    op,
    next: 'n',
    ...(value === undefined ? {} : { value }),
  })

  it('equals compares renderings exactly, case included', () => {
    expect(ruleHolds(rule('equals', 'pro'), 'pro')).toBe(true)
    expect(ruleHolds(rule('equals', 'pro'), 'Pro')).toBe(false)
    expect(ruleHolds(rule('equals', 3), '3')).toBe(true)
    expect(ruleHolds(rule('equals', '3'), 3)).toBe(true)
    expect(ruleHolds(rule('equals', true), 'true')).toBe(true)
    expect(ruleHolds(rule('equals', ''), undefined)).toBe(true)
    expect(ruleHolds(rule('not_equals', 'pro'), undefined)).toBe(true)
    expect(ruleHolds(rule('not_equals', 'pro'), 'pro')).toBe(false)
  })

  it('contains: substring ignoring case for strings, element for arrays', () => {
    expect(ruleHolds(rule('contains', 'urgent'), 'This is URGENT!')).toBe(true)
    expect(ruleHolds(rule('contains', 'b'), ['a', 'b'])).toBe(true)
    expect(ruleHolds(rule('contains', 2), [1, 2])).toBe(true)
    expect(ruleHolds(rule('contains', 'B'), ['a', 'b'])).toBe(false)
    expect(ruleHolds(rule('contains', '1'), 123)).toBe(false)
    expect(ruleHolds(rule('contains', 'x'), undefined)).toBe(false)
  })

  it('gt and lt compare numbers, numeric strings included, and are false otherwise', () => {
    expect(ruleHolds(rule('gt', 10), 11)).toBe(true)
    expect(ruleHolds(rule('gt', 10), '10,5')).toBe(true)
    expect(ruleHolds(rule('gt', '10'), 9)).toBe(false)
    expect(ruleHolds(rule('lt', 10), 9)).toBe(true)
    expect(ruleHolds(rule('lt', 10), 'nine')).toBe(false)
    expect(ruleHolds(rule('gt', 'x'), 9)).toBe(false)
    expect(ruleHolds(rule('lt', 10), undefined)).toBe(false)
  })

  it('is_set: anything but unset, null or ""', () => {
    for (const value of ['a', 0, false, [], {}]) expect(ruleHolds(rule('is_set'), value)).toBe(true)
    for (const value of [undefined, null, '']) {
      expect(ruleHolds(rule('is_set'), value)).toBe(false)
      expect(ruleHolds(rule('is_not_set'), value)).toBe(true)
    }
  })
})
