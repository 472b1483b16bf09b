import { readFileSync } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { BotInput } from '@joon/core'
import { startTestReceiver } from '../../../tools/receiver.ts'
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

/** The shared receiver (tools/receiver.ts), answering with `handler`. */
export async function startReceiver(handler: Handler) {
  const receiver = await startTestReceiver((received, response, request) =>
    handler(request, received.body, response),
  )
  return { url: receiver.url, requests: receiver.requests, close: receiver.close }
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
