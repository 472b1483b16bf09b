import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import type { Webhook } from '@joon/core'

/** One request the receiver got, as it arrived. */
export interface Received {
  method: string
  url: string
  headers: IncomingHttpHeaders
  body: string
}

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

/** A real `node:http` receiver on 127.0.0.1, on a port chosen by the OS. */
export async function startReceiver(handler: ReceiverHandler): Promise<Receiver> {
  const requests: Received[] = []
  const sockets = new Set<Socket>()
  const closed: Promise<void>[] = []
  let connections = 0
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body })
      handler(req, res, body)
    })
  })
  server.on('connection', (socket) => {
    connections++
    sockets.add(socket)
    closed.push(new Promise((resolve) => socket.on('close', () => resolve())))
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    get connections() {
      return connections
    },
    allClosed: async () => {
      await Promise.all(closed)
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
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
