import { randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { Webhook as StandardWebhook } from 'standardwebhooks'

/** One request as the receiver saw it. */
export interface Received {
  id: string
  timestamp: string
  signature: string | undefined
  body: string
  /** `performance.now()` when the body had arrived. */
  at: number
  headers: IncomingMessage['headers']
}

export type Reply = (received: Received, response: ServerResponse, request: IncomingMessage) => void

export interface Receiver {
  url: string
  port: number
  received: Received[]
  /** Requests being answered right now. */
  open: () => number
  /** The most requests that were ever open at once. */
  peakOpen: () => number
  close: () => Promise<void>
}

/**
 * A webhook receiver on 127.0.0.1 that records every request and answers with `reply`.
 * `port` 0 picks a free one; a given port lets a test bring "the same" receiver back later.
 */
export async function startReceiver(reply: Reply, port = 0): Promise<Receiver> {
  const received: Received[] = []
  const sockets = new Set<Socket>()
  let open = 0
  let peak = 0
  const server: Server = createServer((request, response) => {
    open++
    peak = Math.max(peak, open)
    response.on('close', () => open--)
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      const item: Received = {
        id: String(request.headers['webhook-id']),
        timestamp: String(request.headers['webhook-timestamp']),
        signature: request.headers['webhook-signature'] as string | undefined,
        body: Buffer.concat(chunks).toString('utf8'),
        at: performance.now(),
        headers: request.headers,
      }
      received.push(item)
      reply(item, response, request)
    })
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => resolve())
  })
  const address = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${address.port}/hook`,
    port: address.port,
    received,
    open: () => open,
    peakOpen: () => peak,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        // Hanging requests would hold close() open for as long as they hang.
        for (const socket of sockets) socket.destroy()
      }),
  }
}

/** A port nothing listens on (connections are refused) until someone takes it. */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/** A Standard Webhooks secret: `whsec_` and base64 of 24 random bytes. */
export function newSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`
}

/** Verifies a request with the `standardwebhooks` reference implementation; throws if invalid. */
export function verifySignature(secret: string, received: Received): void {
  new StandardWebhook(secret).verify(received.body, {
    'webhook-id': received.id,
    'webhook-timestamp': received.timestamp,
    'webhook-signature': received.signature ?? '',
  })
}

/** Polls `check` until it returns true, or fails after `timeoutMs` saying `what`. */
export async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  intervalMs = 10,
): Promise<void> {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    if (await check()) return
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what}`)
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Collects the worker's log lines. */
export function logSink() {
  const lines: { event: string; fields: Record<string, unknown> }[] = []
  return {
    lines,
    log: (event: string, fields: Record<string, unknown>) => {
      lines.push({ event, fields })
    },
    events: (event: string) => lines.filter((line) => line.event === event),
  }
}
