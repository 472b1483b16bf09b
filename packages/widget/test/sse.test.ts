import { describe, expect, it } from 'vitest'
import { createSseParser } from '../src/sse.ts'

/** Feeds `chunks` one by one; returns the events in order. */
function parse(chunks: string[]): [string, string][] {
  const events: [string, string][] = []
  const feed = createSseParser((event, data) => events.push([event, data]))
  for (const chunk of chunks) feed(chunk)
  return events
}

/** Every way of cutting `text` in two, and in single characters. */
function cuts(text: string): string[][] {
  const out = [[text], [...text]]
  for (let i = 1; i < text.length; i++) out.push([text.slice(0, i), text.slice(i)])
  return out
}

const STREAM = [
  ': a comment, then a keep-alive\n',
  ':\n',
  'event: instruction\n',
  'data: {"type":"text","elements":[{"label":"Let me check\u2028your order…"}]}\n',
  '\n',
  'event:delta\r\n',
  'data:{"text":" It"}\r\n',
  'id: 7\r\n',
  'retry: 1000\r\n',
  '\r\n',
  'event: done\r',
  'data: {"input":null,\r',
  'data:  "ended":true}\r',
  '\r',
  'data: unnamed\n',
  '\n',
  'event: empty\n',
  'data\n',
  '\n',
  'event: no data, not dispatched\n',
  '\n',
  'event: cut off\n',
  'data: never ends',
].join('')

const EXPECTED: [string, string][] = [
  ['instruction', '{"type":"text","elements":[{"label":"Let me check\u2028your order…"}]}'],
  ['delta', '{"text":" It"}'],
  ['done', '{"input":null,\n "ended":true}'],
  ['', 'unnamed'],
  ['empty', ''],
]

describe('createSseParser', () => {
  it('reads events: names, multi-line data, comments, \\n, \\r\\n and \\r line ends', () => {
    expect(parse([STREAM])).toEqual(EXPECTED)
  })

  it('gives the same events however the stream is cut into chunks', () => {
    for (const chunks of cuts(STREAM)) expect(parse(chunks)).toEqual(EXPECTED)
  })

  it('takes a \\r\\n split between chunks for one line end, not two', () => {
    const text = 'data: a\r\ndata: b\r\n\r\ndata: c\r\n\r\n'
    const expected = [
      ['', 'a\nb'],
      ['', 'c'],
    ]
    for (const chunks of cuts(text)) expect(parse(chunks)).toEqual(expected)
    // A lone \r then more text: a line end of its own.
    expect(parse(['data: a\r', '', 'data: b\r', '\r'])).toEqual([['', 'a\nb']])
  })

  it('strips one space after the colon, no more', () => {
    expect(parse(['data:   x  \n\n', 'data:\n\n'])).toEqual([
      ['', '  x  '],
      ['', ''],
    ])
  })
})
