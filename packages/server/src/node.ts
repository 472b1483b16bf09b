import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import { type ServerType, serve } from '@hono/node-server'
import { getConnInfo } from '@hono/node-server/conninfo'
import type { Context, Hono } from 'hono'
import { createApp } from './app.js'
import { createWebhookSender } from './delivery/send.js'
import { startThreadedDeliveryWorker } from './delivery/worker-thread.js'
import { proxyAddress } from './http/rate-limit.js'
import { randomId } from './ids.js'
import type { Store } from './store/types.js'
import { VERSION } from './version.js'

export { PostgresStore } from './store/postgres.js'
export { SqliteStore } from './store/sqlite.js'

export interface NodeServerOptions {
  store: Store
  port?: number
  host?: string
  adminToken?: string | undefined
  allowPrivateUrls?: boolean
  /** Behind a reverse proxy: rate-limit by the first X-Forwarded-For address, not the socket's. */
  trustProxy?: boolean
  rateLimit?: number | undefined
  retrySchedule?: number[]
  /** Deliveries sent at once by the background worker. */
  deliveryConcurrency?: number
  log?: (event: string, fields: Record<string, unknown>) => void
  /** Extra routes served beside the API (a site's own pages, as the demo does). */
  site?: Hono
}

export interface RunningServer {
  url: string
  port: number
  /** Stops accepting, drains in-flight requests and deliveries, closes the store. */
  close(): Promise<void>
}

/** Serves the app on Node with the guarded webhook sender and the delivery worker. */
export async function startNodeServer(options: NodeServerOptions): Promise<RunningServer> {
  const log = options.log ?? (() => {})
  const senderOptions = {
    allowPrivate: options.allowPrivateUrls ?? false,
    userAgent: `joon/${VERSION}`,
  }
  // Synchronous calls are made on this thread (a thread hop would add to the visitor's wait);
  // background deliveries on the worker's own thread, off the one that answers the chat.
  const sender = createWebhookSender(senderOptions)
  const worker = startThreadedDeliveryWorker({
    store: options.store,
    sender: senderOptions,
    owner: `${hostname()}:${process.pid}:${randomId('')}`,
    ...(options.retrySchedule ? { schedule: options.retrySchedule } : {}),
    ...(options.deliveryConcurrency ? { concurrency: options.deliveryConcurrency } : {}),
    log,
  })
  const app = createApp({
    store: options.store,
    sender,
    ...(options.adminToken ? { adminToken: options.adminToken } : {}),
    ...(options.rateLimit !== undefined ? { rateLimit: options.rateLimit } : {}),
    clientAddress: (request, env) =>
      (options.trustProxy && proxyAddress(request)) ||
      (getConnInfo({ env } as unknown as Context).remote.address ?? 'unknown'),
    ...((await loadWidget()) ?? {}),
    ...((await loadConsole()) ?? {}),
    claimDelivery: (webhook) => worker.claim(webhook),
    onDeliveriesQueued: (deliveries) => (deliveries ? worker.adopt(deliveries) : worker.wake()),
    firstAttemptDelayMs: options.retrySchedule?.[0] ?? 0,
    ...(options.site ? { site: options.site } : {}),
    log,
  })

  const server = await new Promise<ServerType>((resolve, reject) => {
    const listening = serve(
      { fetch: app.fetch, port: options.port ?? 8787, hostname: options.host ?? '0.0.0.0' },
      () => resolve(listening),
    )
    listening.once('error', reject)
  })
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : (options.port ?? 8787)
  const host = options.host && options.host !== '0.0.0.0' ? options.host : '127.0.0.1'

  let closing: Promise<void> | undefined
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    close: () => {
      closing ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve())
          // Keep-alive sockets would hold close() open; in-flight requests still finish.
          if ('closeIdleConnections' in server) server.closeIdleConnections()
        })
        await worker.stop()
        await sender.close()
        await options.store.close()
      })()
      return closing
    },
  }
}

async function loadWidget(): Promise<{ widgetScript: { body: string; etag: string } } | null> {
  try {
    const { widgetBundlePath } = await import('@joon/widget/bundle')
    const body = await readFile(widgetBundlePath, 'utf8')
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`
    return { widgetScript: { body, etag } }
  } catch {
    return null
  }
}

/** The console is optional: a server built without it simply has no /admin page. */
async function loadConsole(): Promise<{
  adminConsole: (request: Request) => Response | null
} | null> {
  try {
    const { consoleHandler } = await import('@joon/console')
    return { adminConsole: consoleHandler({ basePath: '/admin' }) }
  } catch {
    return null
  }
}
