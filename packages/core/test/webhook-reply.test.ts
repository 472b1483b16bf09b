import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { parseWebhookReply } from '../src/index.js'

const bytes = (text: string) => new TextEncoder().encode(text)

describe('parseWebhookReply', () => {
  it('turns lone surrogates (JSON escapes of half a pair) into U+FFFD, in values and keys', () => {
    // Written as escapes, the way a reply carries them: JSON.parse makes lone surrogates of them.
    const merge = '{"status":"late \\ud800 x","k\\udc00":["a\\udbff"],"ok":"\\ud83d\\ude00"}'
    expect(parseWebhookReply({ status: 200, body: bytes(merge) })).toEqual({
      kind: 'merge',
      variables: [
        ['status', 'late \ufffd x'],
        ['k\ufffd', ['a\ufffd']],
        ['ok', '\u{1f600}'],
      ],
    })
    const shown = '{"responses":[{"type":"text","elements":[{"label":"Hi \\udc00"}]}]}'
    const outcome = parseWebhookReply({ status: 200, body: bytes(shown) })
    expect(outcome).toMatchObject({
      kind: 'responses',
      responses: [{ elements: [{ label: 'Hi \ufffd' }] }],
    })
  })

  it('shows the instructions of a 2xx reply with "responses" (Joonbot example)', () => {
    const body = JSON.stringify({
      responses: [
        {
          type: 'text',
          delay: 2000,
          elements: [{ label: 'Your order has shipped', order: 1, placeholder: null }],
        },
        {
          type: 'text',
          delay: 2000,
          elements: [{ label: 'It should arrive tomorrow', order: 1, placeholder: null }],
        },
      ],
      ignored: true,
    })
    expect(parseWebhookReply({ status: 200, body: bytes(body) })).toEqual({
      kind: 'responses',
      skipped: 0,
      responses: [
        {
          type: 'text',
          delay: 2000,
          elements: [{ label: 'Your order has shipped', order: 1, placeholder: null }],
        },
        {
          type: 'text',
          delay: 2000,
          elements: [{ label: 'It should arrive tomorrow', order: 1, placeholder: null }],
        },
      ],
    })
  })

  it('sorts elements by order, drops non-string labels, clamps delays, skips unknown types', () => {
    const body = JSON.stringify({
      responses: [
        {
          type: 'text',
          delay: 99_999,
          elements: [
            { label: 'second', order: 2 },
            { label: 42, order: 0 },
            { label: 'first', order: 1, placeholder: 'p' },
          ],
        },
        { type: 'text', delay: -5, elements: [{ label: 'no order' }] },
        { type: 'image', url: 'https://example.com/a.png' },
        'not an instruction',
        { type: 'text', elements: 'nope' },
      ],
    })
    expect(parseWebhookReply({ status: 201, body })).toEqual({
      kind: 'responses',
      skipped: 3,
      responses: [
        {
          type: 'text',
          delay: 10_000,
          elements: [
            { label: 'first', order: 1, placeholder: 'p' },
            { label: 'second', order: 2, placeholder: null },
          ],
        },
        { type: 'text', delay: 0, elements: [{ label: 'no order', order: 1, placeholder: null }] },
      ],
    })
  })

  it('merges a 2xx object without "responses", keeping key order (Joonbot example)', () => {
    const body = '{"delivery_status":"delivered","delivery_method":"eco"}'
    expect(parseWebhookReply({ status: 200, body: bytes(body) })).toEqual({
      kind: 'merge',
      variables: [
        ['delivery_status', 'delivered'],
        ['delivery_method', 'eco'],
      ],
    })
  })

  it('never lets __proto__, constructor or prototype through, at any depth', () => {
    const body =
      '{"__proto__":{"polluted":1},"constructor":1,"prototype":2,"ok":{"__proto__":{"x":1},"deep":[{"constructor":3,"keep":4}]}}'
    const outcome = parseWebhookReply({ status: 200, body })
    expect(outcome).toEqual({
      kind: 'merge',
      variables: [['ok', { deep: [{ keep: 4 }] }]],
    })
    expect(JSON.stringify(outcome)).not.toMatch(/__proto__|constructor|prototype|polluted/)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('does nothing for an empty or blank 2xx body', () => {
    expect(parseWebhookReply({ status: 204, body: null })).toEqual({ kind: 'none' })
    expect(parseWebhookReply({ status: 200, body: new Uint8Array() })).toEqual({ kind: 'none' })
    expect(parseWebhookReply({ status: 200, body: ' \n\t ' })).toEqual({ kind: 'none' })
  })

  it.each([
    [{ status: 500, body: '{}' }, 'HTTP 500'],
    [{ status: 302, body: null }, 'HTTP 302'],
    [{ status: 404, body: 'not found' }, 'HTTP 404'],
    [{ status: 200, body: '{"a":' }, 'invalid JSON'],
    [{ status: 200, body: '[1,2]' }, 'reply is a JSON array, not an object'],
    [{ status: 200, body: '"ok"' }, 'reply is a JSON string, not an object'],
    [{ status: 200, body: '12' }, 'reply is a JSON number, not an object'],
    [{ status: 200, body: 'null' }, 'reply is JSON null, not an object'],
    [{ status: 200, body: '{"responses":{}}' }, '"responses" is not an array'],
    [{ status: 200, body: new Uint8Array([0x7b, 0xff, 0x7d]) }, 'reply is not valid UTF-8'],
    [
      { status: 200, body: `${'['.repeat(100_000)}${']'.repeat(100_000)}` },
      'reply is nested more than 64 levels deep',
    ],
  ])('fails %#: %s', (reply, reason) => {
    expect(parseWebhookReply(reply)).toEqual({ kind: 'failure', reason })
  })

  it('fails for bodies over 1 MiB, as bytes or text, and accepts exactly 1 MiB', () => {
    const exact = `{"a":"${'x'.repeat(1024 * 1024 - 8)}"}`
    expect(exact.length).toBe(1024 * 1024)
    expect(parseWebhookReply({ status: 200, body: bytes(exact) }).kind).toBe('merge')
    const over = `{"a":"${'x'.repeat(1024 * 1024)}"}`
    const failure = { kind: 'failure', reason: 'reply larger than 1 MiB' }
    expect(parseWebhookReply({ status: 200, body: bytes(over) })).toEqual(failure)
    expect(parseWebhookReply({ status: 200, body: over })).toEqual(failure)
    // 400k three-byte characters: under 1 MiB of UTF-16 units, over 1 MiB of UTF-8.
    expect(parseWebhookReply({ status: 200, body: `{"a":"${'€'.repeat(400_000)}"}` })).toEqual(
      failure,
    )
  })

  it('accepts a UTF-8 byte order mark', () => {
    expect(parseWebhookReply({ status: 200, body: bytes('\uFEFF{"a":1}') })).toEqual({
      kind: 'merge',
      variables: [['a', 1]],
    })
  })

  it('is total: any status and any bytes give an outcome', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -1, max: 999 }),
        fc.oneof(fc.uint8Array({ maxLength: 200 }), fc.string(), fc.json(), fc.constant(null)),
        (status, body) => {
          const outcome = parseWebhookReply({ status, body })
          expect(['responses', 'merge', 'none', 'failure']).toContain(outcome.kind)
          if (status < 200 || status > 299) expect(outcome.kind).toBe('failure')
          // Outcomes are plain JSON: they round-trip unchanged.
          expect(JSON.parse(JSON.stringify(outcome))).toEqual(outcome)
        },
      ),
      { numRuns: 2000 },
    )
  })
})
