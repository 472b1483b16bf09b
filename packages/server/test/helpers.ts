import { readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { BotInput } from '@joon/core'
import { type AppOptions, createApp, type JoonApp } from '../src/app.js'
import { MemoryStore } from '../src/store/memory.js'
import type { Store } from '../src/store/types.js'

export const ADMIN_TOKEN = 'test-admin-token'

export const leadGenBot: BotInput = JSON.parse(
  readFileSync(new URL('./fixtures/lead-gen.json', import.meta.url), 'utf8'),
)

/** An app on a memory store with the admin API on and no rate limit unless asked. */
// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON replies
type Reply = { status: number; headers: Headers; json: any }
type Call = (
  method: string,
  path: string,
  body?: unknown,
  headers?: Record<string, string>,
) => Promise<Reply>

export function makeApp(options: Partial<AppOptions> = {}): {
  app: JoonApp
  store: Store
  call: Call
  admin: (method: string, path: string, body?: unknown) => Promise<Reply>
} {
  const store = options.store ?? new MemoryStore()
  const app = createApp({ adminToken: ADMIN_TOKEN, rateLimit: 0, ...options, store })
  const call = async (
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) => {
    const init: RequestInit = {
      method,
      headers: { 'content-type': 'application/json', ...headers },
    }
    if (body !== undefined) init.body = typeof body === 'string' ? body : JSON.stringify(body)
    const response = await app.request(path, init)
    const text = await response.text()
    const json = text ? JSON.parse(text) : null
    return { status: response.status, headers: response.headers, json }
  }
  const admin = (method: string, path: string, body?: unknown) =>
    call(method, `/api/v1/admin${path}`, body, { authorization: `Bearer ${ADMIN_TOKEN}` })
  return { app, store, call, admin }
}

export type Handler = (request: IncomingMessage, body: string, response: ServerResponse) => void

/** A webhook receiver on 127.0.0.1 that records every request. */
export async function startReceiver(handler: Handler) {
  const requests: { headers: IncomingMessage['headers']; body: string }[] = []
  const server = createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      requests.push({ headers: request.headers, body })
      handler(request, body, response)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

export function json(response: ServerResponse, status: number, body: unknown) {
  response.writeHead(status, { 'content-type': 'application/json' })
  response.end(typeof body === 'string' ? body : JSON.stringify(body))
}

/** Parsed JSON of a reply; tests read arbitrary shapes. */
// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON replies
export async function bodyOf(response: Response): Promise<any> {
  return response.json()
}
