import { randomBytes } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Webhook as StandardWebhook } from 'standardwebhooks'
import { type ReceivedRequest, type Reply, startTestReceiver } from '../../../../tools/receiver.ts'

export type Received = ReceivedRequest
export type { Reply }

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
 * The shared receiver (tools/receiver.ts) at `/hook`. `port` 0 picks a free one; a given
 * port lets a test bring "the same" receiver back later.
 */
export async function startReceiver(reply: Reply, port = 0): Promise<Receiver> {
  const receiver = await startTestReceiver(reply, port)
  return {
    url: `${receiver.url}/hook`,
    port: receiver.port,
    received: receiver.requests,
    open: receiver.open,
    peakOpen: receiver.peakOpen,
    close: receiver.close,
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
