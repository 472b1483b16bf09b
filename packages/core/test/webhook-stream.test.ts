import { describe, expect, it } from 'vitest'
import {
  type Instruction,
  MAX_MESSAGES_PER_REPLY,
  runTurn,
  streamFormatOf,
  WebhookStream,
} from '../src/index.js'
import { bot } from './fixtures.js'

const bytes = (text: string) => new TextEncoder().encode(text)
const say = (label: string) => ({ type: 'text', elements: [{ label, order: 1 }] })
const labels = (instructions: readonly Instruction[]) =>
  instructions.map((instruction) => instruction.elements[0]!.label)

describe('WebhookStream', () => {
  it('tells the streamed formats by content type', () => {
    expect(streamFormatOf('text/event-stream; charset=utf-8')).toBe('sse')
    expect(streamFormatOf('application/x-ndjson')).toBe('ndjson')
    expect(streamFormatOf('application/json')).toBeNull()
    expect(streamFormatOf(null)).toBeNull()
  })

  it('hands each SSE instruction over once its event is complete, whatever the chunking', () => {
    const relayed: string[] = []
    const stream = new WebhookStream('sse', (instruction) =>
      relayed.push(labels([instruction])[0]!),
    )
    const text =
      `: a comment\nevent: instruction\ndata: ${JSON.stringify(say('Zoë 😀'))}\n\n` +
      `data: {"status":\ndata: "shipped"}\n\nid: 3\ndata: ${JSON.stringify(say('Two'))}\r\n\r\n` +
      'data: [DONE]\n\n'
    const encoded = bytes(text)
    const firstEnd = bytes(text.slice(0, text.indexOf('\n\n') + 2)).length - 1
    // One byte at a time: events, lines and UTF-8 sequences all split across chunks.
    for (let i = 0; i < encoded.length; i++) {
      stream.push(encoded.subarray(i, i + 1))
      if (i === firstEnd - 1) expect(relayed).toEqual([])
      if (i === firstEnd) expect(relayed).toEqual(['Zoë 😀'])
    }
    expect(relayed).toEqual(['Zoë 😀', 'Two'])
    expect(stream.finish()).toMatchObject({
      kind: 'responses',
      skipped: 0,
      variables: [['status', 'shipped']],
    })
  })

  it('reads NDJSON, the last line without its newline too', () => {
    const stream = new WebhookStream('ndjson')
    stream.push(
      bytes(`${JSON.stringify(say('One'))}\n\n{"plan":"pro"}\n${JSON.stringify(say('Two'))}`),
    )
    const outcome = stream.finish()
    expect(outcome.kind === 'responses' && labels(outcome.responses)).toEqual(['One', 'Two'])
    expect(outcome).toMatchObject({ variables: [['plan', 'pro']] })
  })

  it('gives variables alone as a merge, and nothing as none', () => {
    const merged = new WebhookStream('ndjson')
    merged.push(bytes('{"a":1}\n{"b":2}\n'))
    expect(merged.finish()).toEqual({
      kind: 'merge',
      variables: [
        ['a', 1],
        ['b', 2],
      ],
    })
    expect(new WebhookStream('sse').finish()).toEqual({ kind: 'none' })
  })

  it('keeps what arrived when an event is not a JSON object, or the stream is cut', () => {
    const broken = new WebhookStream('ndjson')
    broken.push(
      bytes(`${JSON.stringify(say('Kept'))}\n{"a":1}\nnot json\n${JSON.stringify(say('Lost'))}\n`),
    )
    expect(broken.finish()).toEqual({
      kind: 'failure',
      reason: 'a streamed event is not valid JSON',
      responses: [
        { type: 'text', delay: 0, elements: [{ label: 'Kept', order: 1, placeholder: null }] },
      ],
      variables: [['a', 1]],
    })
    const cut = new WebhookStream('sse')
    cut.push(bytes(`data: ${JSON.stringify(say('Before'))}\n\ndata: {"half`))
    expect(cut.cut('timed out after 100 ms reading the reply')).toMatchObject({
      kind: 'failure',
      reason: 'timed out after 100 ms reading the reply',
      responses: [{ elements: [{ label: 'Before' }] }],
    })
  })

  it(`relays at most ${MAX_MESSAGES_PER_REPLY} messages, skipping unknown types and the rest`, () => {
    const stream = new WebhookStream('ndjson')
    const lines = [
      JSON.stringify({ type: 'image', url: 'x' }),
      JSON.stringify({
        __proto__: null,
        type: 'text',
        elements: Array.from({ length: 80 }, (_, i) => ({ label: `m${i}`, order: i })),
      }),
      JSON.stringify({
        type: 'text',
        elements: Array.from({ length: 30 }, (_, i) => ({ label: `n${i}`, order: i })),
      }),
      JSON.stringify(say('over')),
    ]
    stream.push(bytes(lines.join('\n')))
    const outcome = stream.finish()
    expect(outcome).toMatchObject({ kind: 'responses', skipped: 3 })
    expect(
      outcome.kind === 'responses' && outcome.responses.flatMap((r) => r.elements),
    ).toHaveLength(MAX_MESSAGES_PER_REPLY)
  })
})

describe('runTurn with onInstructions', () => {
  const flow = bot({
    id: 'shop',
    start: 'hello',
    blocks: [
      { id: 'hello', type: 'text', text: 'Checking…', next: 'lookup' },
      { id: 'lookup', type: 'webhook', webhook: 'orders', next: 'after', onError: 'sorry' },
      { id: 'after', type: 'text', text: 'It is {{status}}.', next: 'ask' },
      { id: 'sorry', type: 'text', text: 'Sorry.', next: 'ask' },
      { id: 'ask', type: 'question', answer: 'text', text: 'More?' },
    ],
  })

  it('hands over what comes before a call before making it, and relayed ones only once', async () => {
    const handed: string[][] = []
    const result = await runTurn(
      flow,
      null,
      { type: 'start' },
      {
        onInstructions: (instructions) => handed.push(labels(instructions)),
        callWebhook: async (_effect, relay) => {
          expect(handed).toEqual([['Checking…']])
          const stream = new WebhookStream('ndjson', relay)
          stream.push(bytes(`${JSON.stringify(say('Found.'))}\n{"status":"shipped"}\n`))
          expect(handed).toEqual([['Checking…'], ['Found.']])
          return stream.finish()
        },
      },
    )
    expect(handed).toEqual([['Checking…'], ['Found.'], ['It is shipped.', 'More?']])
    expect(labels(result.responses)).toEqual(['Checking…', 'Found.', 'It is shipped.', 'More?'])
  })

  it('keeps a broken stream’s instructions and goes to onError', async () => {
    const handed: string[] = []
    const result = await runTurn(
      flow,
      null,
      { type: 'start' },
      {
        onInstructions: (instructions) => handed.push(...labels(instructions)),
        callWebhook: async (_effect, relay) => {
          const stream = new WebhookStream('sse', relay)
          stream.push(bytes(`data: ${JSON.stringify(say('Half'))}\n\n`))
          return stream.cut('network error: socket hang up')
        },
      },
    )
    expect(handed).toEqual(['Checking…', 'Half', 'Sorry.', 'More?'])
    expect(labels(result.responses)).toEqual(handed)
    expect(result.state.messages.map((m) => m.text)).toEqual(handed)
  })
})
