import { describe, expect, it } from 'vitest'
import { type AnswerType, matchChoice, parseNumber, validateAnswer } from '../src/index.js'

const valid = (type: AnswerType, text: string) => validateAnswer(type, text)

describe('validateAnswer', () => {
  it('saves trimmed text as typed; an empty answer is never valid', () => {
    expect(valid('text', '  hello there \n')).toEqual({ ok: true, value: 'hello there' })
    for (const type of ['text', 'email', 'phone', 'number', 'url', 'date'] as const) {
      expect(valid(type, '   ')).toEqual({ ok: false })
    }
  })

  it.each([
    'nicolas@joonbot.com',
    'first.last+tag@sub.example.co.uk',
    'élodie@exemple.fr',
    "o'neil@example.org",
  ])('email: accepts %s as typed', (email) =>
    expect(valid('email', ` ${email} `)).toEqual({ ok: true, value: email }),
  )

  it.each([
    'nicolas',
    'nicolas@',
    '@joonbot.com',
    'nicolas@joonbot',
    'a b@c.com',
    'a..b@c.com',
    'a@b..com',
    'a@-b.com',
    '.a@b.com',
  ])('email: refuses %s', (email) => expect(valid('email', email)).toEqual({ ok: false }))

  it.each([
    '0612345678',
    '06 12 34 56 78',
    '+33 6 12 34 56 78',
    '+33612345678',
    '0033612345678',
    '(415) 555-2671',
    '+1 415-555-2671',
    '07911 123456',
    '+44 7911 123456',
  ])('phone: accepts %s as typed (national and international forms)', (phone) =>
    expect(valid('phone', phone)).toEqual({ ok: true, value: phone }),
  )

  it.each(['123', '0000000000', 'call me at 0612345678', '+33 1', 'phone', '+999 123456789'])(
    'phone: refuses %s',
    (phone) => expect(valid('phone', phone)).toEqual({ ok: false }),
  )

  it.each([
    ['42', 42],
    ['-3', -3],
    ['+7', 7],
    ['3.5', 3.5],
    ['3,5', 3.5],
    ['3,50', 3.5],
    ['.5', 0.5],
    ['1000', 1000],
    ['1.000', 1],
  ])('number: %s is %d', (text, value) =>
    expect(valid('number', text)).toEqual({ ok: true, value }),
  )

  it.each(['1,000', 'ten', '1e3', '3.', '1 000', '--1', '3.5.1', 'Infinity', '0x10'])(
    'number: refuses %s',
    (text) => expect(valid('number', text)).toEqual({ ok: false }),
  )

  it('number: parseNumber reads the same forms', () => {
    expect(parseNumber(' 3,5 ')).toBe(3.5)
    expect(parseNumber('1,000')).toBeUndefined()
  })

  it.each([
    'https://example.com',
    'http://example.com/a?b=c#d',
    'example.com',
    'www.example.co.uk/pricing',
    'HTTPS://Example.com',
    'shop.example.com:8080/x',
  ])('url: accepts %s as typed', (url) =>
    expect(valid('url', url)).toEqual({ ok: true, value: url }),
  )

  it.each([
    'example',
    'javascript:alert(1)',
    'ftp://example.com',
    'http://localhost',
    'https://exa mple.com',
    'http://',
    'example.c',
  ])('url: refuses %s', (url) => expect(valid('url', url)).toEqual({ ok: false }))

  it.each(['2024-02-29', '2025-12-31', '31/12/2025', '1/2/2025', '31.12.2025', '31-12-2025'])(
    'date: accepts %s as typed',
    (date) => expect(valid('date', date)).toEqual({ ok: true, value: date }),
  )

  it.each([
    '2025-02-29',
    '2025-13-01',
    '12/31/2025',
    '31/04/2025',
    '2025/12/31',
    'tomorrow',
    '31/12/25',
    '2025-1-1',
    '31/12-2025',
  ])('date: refuses %s', (date) => expect(valid('date', date)).toEqual({ ok: false }))
})

describe('matchChoice', () => {
  const block = {
    choices: [
      { label: 'Book a demo', value: 'demo' },
      { label: 'Just browsing' },
      { label: 'Éclair' },
    ],
  }

  it('matches a label or a value, ignoring case and surrounding spaces', () => {
    expect(matchChoice(block, 'book a DEMO')).toBe(block.choices[0])
    expect(matchChoice(block, ' Demo ')).toBe(block.choices[0])
    expect(matchChoice(block, 'just browsing')).toBe(block.choices[1])
    expect(matchChoice(block, 'éCLAIR')).toBe(block.choices[2])
    expect(matchChoice(block, 'e\u0301clair')).toBe(block.choices[2])
  })

  it('matches nothing else', () => {
    expect(matchChoice(block, 'demo please')).toBeUndefined()
    expect(matchChoice(block, '')).toBeUndefined()
  })
})
