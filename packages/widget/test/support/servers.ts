import { readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { startTestReceiver } from '../../../../tools/receiver.ts'
import { hostile, kinds, leadGen, orders, plans, tracking } from './bots.ts'

/** The part of @joon/server's Node entry these tests use. */
interface JoonServerModule {
  MemoryStore: new () => unknown
  startNodeServer(options: {
    store: unknown
    port: number
    host: string
    adminToken: string
    allowPrivateUrls: boolean
    rateLimit: number
    retrySchedule: number[]
  }): Promise<{ url: string; close(): Promise<void> }>
}

/**
 * @joon/server depends on this package (it serves the bundle), so it cannot be a dependency
 * back: the tests load it from its source, as its own tests do, through a path that the
 * widget's typecheck does not follow into the server's sources.
 */
async function loadServer(): Promise<JoonServerModule> {
  const src = (file: string) =>
    fileURLToPath(new URL(`../../../server/src/${file}`, import.meta.url))
  const [{ MemoryStore }, { startNodeServer }] = await Promise.all([
    import(src('index.ts')) as Promise<Pick<JoonServerModule, 'MemoryStore'>>,
    import(src('node.ts')) as Promise<Pick<JoonServerModule, 'startNodeServer'>>,
  ])
  return { MemoryStore, startNodeServer }
}

const ADMIN_TOKEN = 'widget-e2e-token'

export interface Recorded {
  path: string
  body: string
}

export type WebhookHandler = (request: Recorded, response: ServerResponse) => void

/** The shared receiver (tools/receiver.ts); each test can say how it answers. */
export async function startReceiver() {
  const requests: Recorded[] = []
  let handler: WebhookHandler = (_request, response) => {
    response.writeHead(204).end()
  }
  const receiver = await startTestReceiver((received, response) => {
    const recorded = { path: received.url, body: received.body }
    requests.push(recorded)
    handler(recorded, response)
  })
  return {
    url: receiver.url,
    requests,
    answerWith(next: WebhookHandler) {
      handler = next
    },
    close: receiver.close,
  }
}

/** A real @joon/server (memory store) with the test bots, and a receiver for their webhooks. */
export async function startJoon() {
  const { MemoryStore, startNodeServer } = await loadServer()
  const receiver = await startReceiver()
  const server = await startNodeServer({
    store: new MemoryStore(),
    port: 0,
    host: '127.0.0.1',
    adminToken: ADMIN_TOKEN,
    allowPrivateUrls: true,
    rateLimit: 0,
    retrySchedule: [0, 200],
  })
  const admin = async (path: string, body: unknown) => {
    const response = await fetch(`${server.url}/api/v1/admin${path}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
    if (!response.ok) throw new Error(`PUT ${path}: ${response.status} ${await response.text()}`)
  }
  await admin('/webhooks/crm', { url: `${receiver.url}/crm` })
  await admin('/webhooks/orders-api', { url: `${receiver.url}/orders`, timeoutMs: 5000 })
  // Longer than any wait of the streaming test, which holds this webhook's answer.
  await admin('/webhooks/tracking-api', { url: `${receiver.url}/tracking`, timeoutMs: 30_000 })
  for (const bot of [leadGen, orders, hostile, kinds, plans, tracking]) {
    await admin(`/bots/${bot.id}`, bot)
  }
  return {
    url: server.url,
    receiver,
    /** PUT to the admin API, e.g. `admin('/models/m', {…})`. */
    admin,
    close: async () => {
      await server.close()
      await receiver.close()
    },
  }
}

export interface HostPage {
  body: string
  /** Sent as the page's Content-Security-Policy header. */
  csp?: string
  head?: string
}

/**
 * The site that embeds the widget, on another origin (`localhost` vs the server's
 * `127.0.0.1`), as in production. For pages whose CSP allows only 'self', it also proxies
 * /widget.js and /api/ to the Joon server, as a site behind one reverse proxy would.
 */
export async function startHost(
  joonUrl: string,
  pages: Record<string, HostPage>,
  /** Static files by URL path: JavaScript modules read from disk. */
  files: Record<string, string> = {},
) {
  const server = createServer(async (request, response) => {
    const path = request.url ?? '/'
    const file = files[path]
    if (file) {
      response.writeHead(200, { 'content-type': 'text/javascript' })
      response.end(readFileSync(file))
      return
    }
    if (path === '/widget.js' || path.startsWith('/api/')) {
      const body = request.method === 'GET' ? undefined : await readBody(request)
      const upstream = await fetch(joonUrl + path, {
        method: request.method ?? 'GET',
        headers: { 'content-type': request.headers['content-type'] ?? 'application/json' },
        ...(body === undefined ? {} : { body }),
      })
      response.writeHead(upstream.status, {
        'content-type': upstream.headers.get('content-type') ?? 'text/plain',
      })
      response.end(Buffer.from(await upstream.arrayBuffer()))
      return
    }
    if (path === '/favicon.ico') {
      response.writeHead(204).end()
      return
    }
    if (path === '/hostile.css') {
      response.writeHead(200, { 'content-type': 'text/css' })
      response.end(HOSTILE_CSS)
      return
    }
    const page = pages[path.split('?')[0] ?? '/']
    if (!page) {
      response.writeHead(404).end()
      return
    }
    response.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      ...(page.csp ? { 'content-security-policy': page.csp } : {}),
    })
    response.end(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Host page</title>${page.head ?? ''}</head><body>${page.body}</body></html>`,
    )
  })
  const address = await listen(server)
  return { url: address.replace('127.0.0.1', 'localhost'), close: () => close(server) }
}

/** What a careless or hostile theme does to everything it can reach. */
export const HOSTILE_CSS = `
* { all: unset !important }
html { font-size: 30px }
html { font-size: 30px !important }
body { font: 30px/3 "Comic Sans MS", cursive !important; letter-spacing: 4px !important; text-transform: uppercase !important; color: red !important }
div, button, input, svg { box-sizing: content-box !important; border: 5px dashed lime !important; margin: 13px !important; padding: 21px !important; display: block !important; position: static !important }
`

export const STRICT_CSP = "default-src 'self'; style-src 'self'; script-src 'self'"

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
  })
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections()
    server.close(() => resolve())
  })
}
