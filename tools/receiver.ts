import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

/**
 * The one webhook receiver every package's tests use: a real `node:http` server on 127.0.0.1
 * that records each request as it arrived and lets the test answer it.
 */

/** One request the receiver got. */
export interface ReceivedRequest {
  method: string
  /** The path and query, e.g. `/hooks/crm`. */
  url: string
  headers: IncomingMessage['headers']
  body: string
  /** `performance.now()` when the body had arrived. */
  at: number
  /** The Standard Webhooks headers Joon signs with (empty when absent). */
  id: string
  timestamp: string
  signature: string | undefined
}

export type Reply = (
  received: ReceivedRequest,
  response: ServerResponse,
  request: IncomingMessage,
) => void

export interface TestReceiver {
  /** `http://127.0.0.1:<port>`, without a path. */
  url: string
  port: number
  requests: ReceivedRequest[]
  /** Requests being answered right now. */
  open(): number
  /** The most requests that were ever open at once. */
  peakOpen(): number
  /** TCP connections accepted so far. */
  connections(): number
  /** Resolves when every socket accepted so far has closed. */
  allClosed(): Promise<void>
  /** Stops listening and cuts every connection, hanging requests included. */
  close(): Promise<void>
}

/** Answers 200 `{"received":true}`. */
export const acknowledge: Reply = (_received, response) => {
  response.writeHead(200, { 'content-type': 'application/json' }).end('{"received":true}')
}

/** `port` 0 picks a free one; a given port lets a test bring "the same" receiver back later. */
export async function startTestReceiver(
  reply: Reply = acknowledge,
  port = 0,
): Promise<TestReceiver> {
  const requests: ReceivedRequest[] = []
  const sockets = new Set<Socket>()
  const closed: Promise<void>[] = []
  let open = 0
  let peak = 0
  let connections = 0
  const server = createServer((request, response) => {
    open++
    peak = Math.max(peak, open)
    response.on('close', () => open--)
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      const header = (name: string) => request.headers[name] as string | undefined
      const received: ReceivedRequest = {
        method: request.method ?? '',
        url: request.url ?? '/',
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: performance.now(),
        id: header('webhook-id') ?? '',
        timestamp: header('webhook-timestamp') ?? '',
        signature: header('webhook-signature'),
      }
      requests.push(received)
      reply(received, response, request)
    })
  })
  server.on('connection', (socket) => {
    connections++
    sockets.add(socket)
    closed.push(new Promise((resolve) => socket.on('close', () => resolve())))
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => resolve())
  })
  const address = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${address.port}`,
    port: address.port,
    requests,
    open: () => open,
    peakOpen: () => peak,
    connections: () => connections,
    allClosed: async () => {
      await Promise.all(closed)
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        for (const socket of sockets) socket.destroy()
      }),
  }
}
