import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ChatApiError, createFetchClient } from '../src/client.ts'

interface Seen {
  method: string
  url: string
  headers: IncomingMessage['headers']
  body: string
}

// A real server: the client is tested on the bytes it sends and the answers it gets.
const seen: Seen[] = []
let answer: { status: number; body: string } = { status: 200, body: '{}' }
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
    response.writeHead(answer.status, { 'content-type': 'application/json' })
    response.end(answer.body)
  })
})
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
    expect(await client.start('lead-gen')).toEqual({
      conversationId: 'c1',
      responses: [],
      input: null,
      ended: true,
    })
    await client.start('a b', { plan: 'pro' })
    answer = { status: 200, body: '{"responses":[],"input":null,"ended":true}' }
    await client.reply('c/1', 'hé "you"')
    await client.get('c1')
    expect(seen.map(({ method, url, body }) => [method, url, body])).toEqual([
      ['POST', '/api/v1/bots/lead-gen/conversations', '{}'],
      ['POST', '/api/v1/bots/a%20b/conversations', '{"variables":{"plan":"pro"}}'],
      ['POST', '/api/v1/conversations/c%2F1/replies', '{"text":"hé \\"you\\""}'],
      ['GET', '/api/v1/conversations/c1', ''],
    ])
    expect(seen[0]?.headers['content-type']).toBe('application/json')
    expect(seen[0]?.headers.cookie).toBeUndefined()
  })

  it("turns the contract's error body into a ChatApiError with status and code", async () => {
    const client = createFetchClient(base)
    answer = { status: 409, body: '{"error":{"code":"conversation_ended","message":"Ended."}}' }
    expect(await failure(client.reply('c1', 'x'))).toMatchObject({
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
})
