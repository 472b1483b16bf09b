import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ChatApiError, createFetchClient, type TurnEvent } from '../src/client.ts'

interface Seen {
  method: string
  url: string
  headers: IncomingMessage['headers']
  body: string
}

// A real server: the client is tested on the bytes it sends and the answers it gets.
const seen: Seen[] = []
/** A JSON answer, or a stream: its chunks as bytes, each written after the one before is read. */
let answer: { status: number; body: string } | { status: number; chunks: Buffer[]; type?: string } =
  { status: 200, body: '{}' }
const server = createServer((request, response) => {
  let body = ''
  request.on('data', (chunk: Buffer) => {
    body += chunk.toString('utf8')
  })
  request.on('end', () => {
    seen.push({
      method: request.method ?? '',
      url: request.url ?? '',
      headers: request.headers,
      body,
    })
    if ('body' in answer) {
      response.writeHead(answer.status, { 'content-type': 'application/json' })
      response.end(answer.body)
      return
    }
    response.writeHead(answer.status, { 'content-type': answer.type ?? 'text/event-stream' })
    void drip(response, answer.chunks)
  })
})

/** Writes each chunk in its own write, with a pause, so the client gets them apart. */
async function drip(response: import('node:http').ServerResponse, chunks: Buffer[]) {
  for (const chunk of chunks) {
    response.write(chunk)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  response.end()
}

async function events<T>(turn: AsyncIterable<TurnEvent<T>>): Promise<TurnEvent<T>[]> {
  const out: TurnEvent<T>[] = []
  for await (const event of turn) out.push(event)
  return out
}

async function turnFailure(turn: AsyncIterable<unknown>): Promise<ChatApiError> {
  return failure(
    (async () => {
      for await (const _ of turn);
    })(),
  )
}
let base = ''

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

async function failure(promise: Promise<unknown>): Promise<ChatApiError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  )
  if (!(error instanceof ChatApiError)) throw new Error(`expected a ChatApiError, got ${error}`)
  return error
}

describe('createFetchClient', () => {
  it('calls the chat API of the contract', async () => {
    const client = createFetchClient(`${base}/`)
    answer = {
      status: 201,
      body: '{"conversationId":"c1","responses":[],"input":null,"ended":true}',
    }
    expect(await events(client.start('lead-gen'))).toEqual([
      ['done', { conversationId: 'c1', responses: [], input: null, ended: true }],
    ])
    await events(client.start('a b', { plan: 'pro' }))
    answer = { status: 200, body: '{"responses":[],"input":null,"ended":true}' }
    await events(client.reply('c/1', 'hé "you"'))
    await client.get('c1')
    expect(seen.map(({ method, url, body }) => [method, url, body])).toEqual([
      ['POST', '/api/v1/bots/lead-gen/conversations', '{}'],
      ['POST', '/api/v1/bots/a%20b/conversations', '{"variables":{"plan":"pro"}}'],
      ['POST', '/api/v1/conversations/c%2F1/replies', '{"text":"hé \\"you\\""}'],
      ['GET', '/api/v1/conversations/c1', ''],
    ])
    expect(seen[0]?.headers['content-type']).toBe('application/json')
    expect(seen[0]?.headers.accept).toBe('text/event-stream, application/json')
    expect(seen[0]?.headers.cookie).toBeUndefined()
    expect(seen[3]?.headers.accept).toBe('*/*')
  })

  it("turns the contract's error body into a ChatApiError with status and code", async () => {
    const client = createFetchClient(base)
    answer = { status: 409, body: '{"error":{"code":"conversation_ended","message":"Ended."}}' }
    expect(await turnFailure(client.reply('c1', 'x'))).toMatchObject({
      status: 409,
      code: 'conversation_ended',
      message: 'Ended.',
    })
    answer = { status: 502, body: '<html>Bad gateway</html>' }
    expect(await failure(client.get('c1'))).toMatchObject({ status: 502, code: 'http' })
    answer = { status: 200, body: 'not json' }
    expect(await failure(client.get('c1'))).toMatchObject({ status: 200, code: 'http' })
  })

  it('reports a request that got no answer with status 0', async () => {
    const closed = createServer()
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
    const port = (closed.address() as AddressInfo).port
    await new Promise<void>((resolve) => closed.close(() => resolve()))
    const error = await failure(createFetchClient(`http://127.0.0.1:${port}`).get('c1'))
    expect(error).toMatchObject({ status: 0, code: 'network' })
  })

  it('reads a streamed turn as it comes, however its bytes are cut', async () => {
    const client = createFetchClient(base)
    const instruction = {
      type: 'text',
      delay: 0,
      elements: [{ label: 'Let me check your order… ✓ 🚚\u2028', order: 1, placeholder: null }],
    }
    const text = [
      ': keep-alive\n\n',
      `event: instruction\r\ndata: ${JSON.stringify(instruction)}\r\n\r\n`,
      'event: delta\ndata: {"text":"Ça ar"}\n\n',
      'event: done\ndata: {"input":{"type":"email"},\ndata: "ended":false}\n\n',
    ].join('')
    const bytes = Buffer.from(text, 'utf8')
    const expected = [
      ['instruction', instruction],
      ['delta', { text: 'Ça ar' }],
      ['done', { input: { type: 'email' }, ended: false }],
    ]
    // Whole, byte by byte (every character of several bytes split), and at each place in two.
    const cuttings = [[bytes], [...bytes].map((b) => Buffer.from([b]))]
    for (let i = 1; i < bytes.length; i += 7)
      cuttings.push([bytes.subarray(0, i), bytes.subarray(i)])
    for (const chunks of cuttings) {
      answer = { status: 200, chunks }
      expect(await events(client.reply('c1', 'A-1'))).toEqual(expected)
    }
  })

  it('gives each event before the next one is sent', async () => {
    let release = () => {}
    const held = new Promise<void>((resolve) => {
      release = resolve
    })
    const streaming = createServer((_request, response) => {
      response.writeHead(201, { 'content-type': 'text/event-stream' })
      response.write('event: instruction\ndata: {"type":"text","elements":[{"label":"First"}]}\n\n')
      void held.then(() =>
        response.end('event: done\ndata: {"conversationId":"c1","input":null,"ended":true}\n\n'),
      )
    })
    await new Promise<void>((resolve) => streaming.listen(0, '127.0.0.1', resolve))
    try {
      const port = (streaming.address() as AddressInfo).port
      const turn = createFetchClient(`http://127.0.0.1:${port}`).start('b')[Symbol.asyncIterator]()
      // The server holds the end of the turn until the first event is in hand.
      expect((await turn.next()).value).toEqual([
        'instruction',
        { type: 'text', elements: [{ label: 'First' }] },
      ])
      release()
      expect((await turn.next()).value).toEqual([
        'done',
        { conversationId: 'c1', input: null, ended: true },
      ])
      expect((await turn.next()).done).toBe(true)
    } finally {
      streaming.closeAllConnections()
      await new Promise<void>((resolve) => streaming.close(() => resolve()))
    }
  })

  it('falls back to the JSON answer when the server (or a proxy) answers JSON', async () => {
    const client = createFetchClient(base)
    answer = {
      status: 200,
      body: JSON.stringify({
        responses: [{ type: 'text', elements: [{ label: 'Hi' }] }],
        input: null,
        ended: true,
      }),
    }
    expect(await events(client.reply('c1', 'x'))).toEqual([
      [
        'done',
        { responses: [{ type: 'text', elements: [{ label: 'Hi' }] }], input: null, ended: true },
      ],
    ])
    // A stream of the wrong type is not read as one.
    answer = {
      status: 200,
      chunks: [Buffer.from('{"responses":[],"input":null,"ended":false}')],
      type: 'application/json; charset=utf-8',
    }
    expect(await events(client.reply('c1', 'x'))).toEqual([
      ['done', { responses: [], input: null, ended: false }],
    ])
  })

  it('throws an error event with its code, and a stream cut before done as a network failure', async () => {
    const client = createFetchClient(base)
    const first = 'event: instruction\ndata: {"type":"text","elements":[{"label":"Wait…"}]}\n\n'
    answer = {
      status: 200,
      chunks: [
        Buffer.from(
          `${first}event: error\ndata: {"error":{"code":"conflict","message":"Answered elsewhere."}}\n\n`,
        ),
      ],
    }
    const seen: unknown[] = []
    const conflict = await failure(
      (async () => {
        for await (const event of client.reply('c1', 'x')) seen.push(event[0])
      })(),
    )
    expect(seen).toEqual(['instruction'])
    expect(conflict).toMatchObject({
      status: 200,
      code: 'conflict',
      message: 'Answered elsewhere.',
    })

    // The end of the turn never comes: the half-written event is dropped, not half-read.
    answer = { status: 200, chunks: [Buffer.from(`${first}event: done\ndata: {"input":null,`)] }
    expect(await turnFailure(client.reply('c1', 'x'))).toMatchObject({ status: 0, code: 'network' })
  })
})
