import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Webhook } from '@joon/core'
import { type ReceivedRequest, startTestReceiver } from '../../../../tools/receiver.ts'

export type Received = ReceivedRequest

export type ReceiverHandler = (req: IncomingMessage, res: ServerResponse, body: string) => void

export interface Receiver {
  url: string
  port: number
  requests: Received[]
  /** TCP connections accepted so far. */
  readonly connections: number
  /** Resolves when every socket the receiver accepted so far has closed. */
  allClosed(): Promise<void>
  close(): Promise<void>
}

/** The shared receiver (tools/receiver.ts), answering with `handler`. */
export async function startReceiver(handler: ReceiverHandler): Promise<Receiver> {
  const receiver = await startTestReceiver((received, res, req) => handler(req, res, received.body))
  return {
    url: receiver.url,
    port: receiver.port,
    requests: receiver.requests,
    get connections() {
      return receiver.connections()
    },
    allClosed: receiver.allClosed,
    close: receiver.close,
  }
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value)
  res.writeHead(status, { 'content-type': 'application/json' }).end(text)
}

/** A webhook as the schema would parse it. */
export function hook(url: string, extra: Partial<Webhook> = {}): Webhook {
  return { name: 'test', url, timeoutMs: 5000, ...extra }
}

/**
 * Counts client sockets Node creates (the `net.client.socket` diagnostics channel) while `run`
 * runs: proof that a refused address never got as far as a socket.
 */
export async function countClientSockets<T>(
  run: () => Promise<T>,
): Promise<{ result: T; sockets: number }> {
  let sockets = 0
  const onSocket = () => {
    sockets++
  }
  subscribe('net.client.socket', onSocket)
  try {
    const result = await run()
    return { result, sockets }
  } finally {
    unsubscribe('net.client.socket', onSocket)
  }
}
