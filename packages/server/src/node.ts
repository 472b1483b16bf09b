import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import type { Server } from 'node:http'
import { hostname } from 'node:os'
import { type ServerType, serve } from '@hono/node-server'
import { getConnInfo } from '@hono/node-server/conninfo'
import type { Context, Hono } from 'hono'
import { createModelCaller } from './ai/model-caller.js'
import { withAlerts } from './alerts/alerting-store.js'
import { createApp } from './app.js'
import {
  connectionLimiter,
  DEFAULT_BODY_TIMEOUT_MS,
  DEFAULT_HEADERS_TIMEOUT_MS,
  DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
  timeoutOptions,
} from './connections.js'
import { createWebhookSender } from './delivery/send.js'
import { startDeliveryThread } from './delivery/thread.js'
import { startDeliveryWorker } from './delivery/worker.js'
import { proxyAddress } from './http/rate-limit.js'
import { randomId } from './ids.js'
import { prometheusMetrics } from './metrics/prometheus.js'
import { startRetention } from './results/retention.js'
import type { SqliteStore } from './store/sqlite.js'
import type { Store } from './store/types.js'
import { VERSION } from './version.js'

export { PostgresStore } from './store/postgres.js'
export { SqliteStore } from './store/sqlite.js'

export interface NodeServerOptions {
  store: Store
  port?: number
  host?: string
  adminToken?: string | undefined
  /** `JOON_METRICS_TOKEN`: also lets a scraper read GET /metrics. */
  metricsToken?: string | undefined
  allowPrivateUrls?: boolean
  /** Behind a reverse proxy: rate-limit by the first X-Forwarded-For address, not the socket's. */
  trustProxy?: boolean
  rateLimit?: number | undefined
  /** Replies a minute to one conversation (default 120; 0: no limit). */
  conversationRateLimit?: number | undefined
  /** Time a client has to send a request's headers (default 5 s); Node answers 408 after. */
  headersTimeoutMs?: number | undefined
  /** Time a client has to send a whole request, body included (default 10 s). */
  bodyTimeoutMs?: number | undefined
  /**
   * Connections one client address may hold at once (default 128; 0: no cap). Counted by the
   * rate limit's address rule: with `trustProxy`, requests in flight per forwarded address.
   */
  maxConnectionsPerAddress?: number | undefined
  retrySchedule?: number[]
  /** Deliveries sent at once by the background worker. */
  deliveryConcurrency?: number
  /** Conversations not updated for this long are deleted (`JOON_RETENTION`); unset keeps all. */
  retentionMs?: number | undefined
  /** A registered webhook's name: it receives alerts about the others (`JOON_ALERT_WEBHOOK`). */
  alertWebhook?: string | undefined
  log?: (event: string, fields: Record<string, unknown>) => void
  /** Logs every request as `http.request` (method, path, status, ms): `JOON_LOG_LEVEL=debug`. */
  logRequests?: boolean
  /** Extra routes served beside the API (a site's own pages, as the demo does). */
  site?: Hono
}

export interface RunningServer {
  /** Where a local client reaches the server (127.0.0.1 when it binds every interface). */
  url: string
  /** The address really bound, e.g. `http://0.0.0.0:8787` for every IPv4 interface. */
  boundUrl: string
  port: number
  /** Stops accepting, drains in-flight requests and deliveries, closes the store. */
  close(): Promise<void>
}

/** Serves the app on Node with the guarded webhook sender and the delivery worker. */
export async function startNodeServer(options: NodeServerOptions): Promise<RunningServer> {
  const metrics = prometheusMetrics({ store: options.store })
  const log = (event: string, fields: Record<string, unknown>) => {
    metrics.count(event)
    options.log?.(event, fields)
  }
  // Outcomes recorded through it (worker attempts, sync calls) bring their alerts.
  const store = options.alertWebhook
    ? withAlerts(options.store, {
        webhook: options.alertWebhook,
        log,
        onQueued: () => worker.wake(),
      })
    : options.store
  const sender = createWebhookSender({
    allowPrivate: options.allowPrivateUrls ?? false,
    userAgent: `joon/${VERSION}`,
  })
  const modelCaller = createModelCaller({
    allowPrivate: options.allowPrivateUrls ?? false,
    userAgent: `joon/${VERSION}`,
  })
  const owner = `${hostname()}:${process.pid}:${randomId('')}`
  const inProcess = () =>
    startDeliveryWorker({
      store,
      sender,
      owner,
      ...(options.retrySchedule ? { schedule: options.retrySchedule } : {}),
      ...(options.deliveryConcurrency ? { concurrency: options.deliveryConcurrency } : {}),
      log,
      observe: metrics.observer,
    })
  // A SQLite file's deliveries go out from a thread of their own (`thread.ts` says why).
  const file = (options.store as Partial<Pick<SqliteStore, 'file'>>).file ?? null
  const worker = file
    ? startDeliveryThread({
        setup: {
          file,
          allowPrivate: options.allowPrivateUrls ?? false,
          userAgent: `joon/${VERSION}`,
          owner,
          schedule: options.retrySchedule,
          concurrency: options.deliveryConcurrency,
          alertWebhook: options.alertWebhook,
        },
        log,
        observe: metrics.observer,
        fallback: inProcess,
      })
    : inProcess()

  const clientAddress = (request: Request, env: unknown) =>
    (options.trustProxy && proxyAddress(request)) ||
    (getConnInfo({ env } as unknown as Context).remote.address ?? 'unknown')
  const timeouts = {
    headersTimeoutMs: options.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS,
    bodyTimeoutMs: options.bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_MS,
  }
  const connections = connectionLimiter({
    ...timeouts,
    maxPerAddress: options.maxConnectionsPerAddress ?? DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
    trustProxy: options.trustProxy ?? false,
    clientAddress,
    log,
  })
  const app = createApp({
    store,
    sender,
    modelCaller,
    ...(options.adminToken ? { adminToken: options.adminToken } : {}),
    ...(options.rateLimit !== undefined ? { rateLimit: options.rateLimit } : {}),
    ...(options.conversationRateLimit !== undefined
      ? { conversationRateLimit: options.conversationRateLimit }
      : {}),
    clientAddress,
    allowPrivateUrls: options.allowPrivateUrls ?? false,
    ...((await loadWidget()) ?? {}),
    ...((await loadConsole()) ?? {}),
    onDeliveriesQueued: () => worker.wake(),
    ...(options.retrySchedule ? { retrySchedule: options.retrySchedule } : {}),
    ...(options.site ? { site: options.site } : {}),
    log,
    observe: metrics.observer,
    metrics: metrics.scrape,
    ...(options.logRequests ? { logRequests: true } : {}),
    ...(options.metricsToken ? { metricsToken: options.metricsToken } : {}),
  })

  const server = await new Promise<ServerType>((resolve, reject) => {
    const listening = serve(
      {
        fetch: connections.wrap(app.fetch),
        port: options.port ?? 8787,
        hostname: options.host ?? '0.0.0.0',
        serverOptions: timeoutOptions(timeouts),
      },
      () => resolve(listening),
    )
    connections.attach(listening as Server)
    listening.once('error', reject)
  })
  const stopRetention = options.retentionMs
    ? startRetention({ store: options.store, retentionMs: options.retentionMs, log })
    : undefined
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : (options.port ?? 8787)
  const host = options.host && options.host !== '0.0.0.0' ? options.host : '127.0.0.1'
  const bound = typeof address === 'object' && address ? address.address : (options.host ?? '')
  const asUrl = (name: string) => `http://${name.includes(':') ? `[${name}]` : name}:${port}`

  let closing: Promise<void> | undefined
  return {
    url: asUrl(host),
    boundUrl: asUrl(bound),
    port,
    close: () => {
      closing ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve())
          // Keep-alive sockets would hold close() open; in-flight requests still finish.
          if ('closeIdleConnections' in server) server.closeIdleConnections()
        })
        await stopRetention?.()
        await worker.stop()
        await sender.close()
        await modelCaller.close()
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
