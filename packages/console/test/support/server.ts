import { Hono } from 'hono'
// Relative imports, not `@joon/server`: the server will depend on this package to serve the
// console, and a dependency back would make a workspace cycle.
import { type RunningServer, startNodeServer } from '../../../server/src/node.js'
import { MemoryStore } from '../../../server/src/store/memory.js'
import { consoleHandler } from '../../src/assets.js'

export const ADMIN_TOKEN = 'test-admin-token-0123456789'

/**
 * The real Node server (guarded sender with private URLs allowed, delivery worker with a short
 * retry schedule) with the console mounted at /admin exactly as the server should mount it.
 */
export async function startConsoleServer(): Promise<RunningServer & { store: MemoryStore }> {
  const store = new MemoryStore()
  const handle = consoleHandler({ basePath: '/admin' })
  const serveConsole = (c: {
    req: { raw: Request }
    notFound: () => Response | Promise<Response>
  }) => handle(c.req.raw) ?? c.notFound()
  const site = new Hono().get('/admin', serveConsole).get('/admin/*', serveConsole)
  const server = await startNodeServer({
    store,
    port: 0,
    host: '127.0.0.1',
    adminToken: ADMIN_TOKEN,
    allowPrivateUrls: true,
    retrySchedule: [0, 50, 50],
    rateLimit: 0,
    site,
    log: process.env.JOON_TEST_LOG ? (event, fields) => console.log(event, fields) : () => {},
  })
  return Object.assign(server, { store })
}

/** A conversation driven through the chat API, as a visitor's widget would. */
export async function chat(base: string, bot: string, replies: string[], variables = {}) {
  const started = await fetch(`${base}/api/v1/bots/${bot}/conversations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ variables }),
  })
  if (started.status !== 201) throw new Error(`start: ${started.status} ${await started.text()}`)
  const { conversationId } = (await started.json()) as { conversationId: string }
  for (const text of replies) {
    const replied = await fetch(`${base}/api/v1/conversations/${conversationId}/replies`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text }),
    })
    if (replied.status !== 200) throw new Error(`reply: ${replied.status} ${await replied.text()}`)
  }
  return conversationId
}

/** PUT on the admin API, for setting up what a test is not about. */
export async function adminPut(base: string, path: string, body: unknown): Promise<void> {
  const response = await fetch(`${base}/api/v1/admin${path}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  if (!response.ok) throw new Error(`PUT ${path}: ${response.status} ${await response.text()}`)
}
