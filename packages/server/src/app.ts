import { type Context, Hono } from 'hono'
import { HTTPException } from 'hono/http-exception'
import type { TurnDeps, WebhookSender } from './conversation.js'
import { adminRoutes } from './http/admin.js'
import { adminAuth } from './http/auth.js'
import { chatRoutes } from './http/chat.js'
import { openCors } from './http/cors.js'
import { ApiError, errorBody } from './http/errors.js'
import { proxyAddress, RateLimiter } from './http/rate-limit.js'
import { randomId } from './ids.js'
import type { Store } from './store/types.js'

/** The contract's default: generous enough for a busy office behind one address. */
export const DEFAULT_RATE_LIMIT = 600
/** Replies a minute to one conversation: more than any human types or clicks. */
export const DEFAULT_CONVERSATION_RATE_LIMIT = 120

export interface AppOptions {
  store: Store
  /** Performs synchronous webhook calls (Node: `createWebhookSender`; edge: `createFetchSender`). */
  sender?: WebhookSender
  /** Bearer token for the admin API; without one the admin API answers 404. */
  adminToken?: string
  /** Chat API requests a minute per client address; 0 disables. */
  rateLimit?: number
  conversationRateLimit?: number
  /** Client address for rate limiting; the Node entry reads the socket. */
  clientAddress?: (request: Request, env: unknown) => string
  /** The widget's script-tag bundle, served at /widget.js. */
  widgetScript?: { body: string; etag: string }
  /** See `TurnDeps.claimDelivery` (the Node entry's delivery worker). */
  claimDelivery?: TurnDeps['claimDelivery']
  onDeliveriesQueued?: TurnDeps['onDeliveriesQueued']
  /** Delay before a new async delivery's first attempt (the retry schedule's first entry). */
  firstAttemptDelayMs?: number
  /** The operator console (`consoleHandler` of @joon/console), served at /admin. */
  adminConsole?: (request: Request) => Response | null
  /** Extra routes served beside the API (a site's own pages, as the demo does). */
  site?: Hono
  now?: () => number
  log?: (event: string, fields: Record<string, unknown>) => void
}

/** Builds the Hono app. It never listens: `node.ts` and `edge.ts` do that. */
export function createApp(options: AppOptions) {
  const now = options.now ?? Date.now
  const deps: TurnDeps = {
    store: options.store,
    sender: options.sender,
    now,
    newId: randomId,
    claimDelivery: options.claimDelivery,
    onDeliveriesQueued: options.onDeliveriesQueued,
    firstAttemptDelayMs: options.firstAttemptDelayMs,
    log: options.log,
  }
  const rateLimit = options.rateLimit ?? DEFAULT_RATE_LIMIT
  const chat = chatRoutes({
    deps,
    addressLimiter: new RateLimiter(rateLimit, { now }),
    conversationLimiter: new RateLimiter(
      options.conversationRateLimit ?? DEFAULT_CONVERSATION_RATE_LIMIT,
      { now },
    ),
    clientAddress: options.clientAddress ?? forwardedAddress,
  })
  const admin = new Hono().use(adminAuth(options.adminToken)).route('/', adminRoutes({ deps }))
  const widget = options.widgetScript

  const app = new Hono()
    .get('/healthz', async (c) => {
      // Healthy means able to serve: a store that cannot answer makes the instance unhealthy.
      try {
        await options.store.ping()
        return c.json({ status: 'ok' }, 200)
      } catch (error) {
        options.log?.('health.store_unavailable', { error: String(error) })
        return c.json({ status: 'unavailable' }, 503)
      }
    })
    .get('/widget.js', openCors({ methods: ['GET'], maxAgeSeconds: 86_400 }), (c) => {
      if (!widget) throw new ApiError(404, 'not_found', 'The widget bundle is not built.')
      c.header('etag', widget.etag)
      c.header('cache-control', 'public, max-age=300, must-revalidate')
      if (c.req.header('if-none-match') === widget.etag) return c.body(null, 304)
      return c.body(widget.body, 200, { 'content-type': 'text/javascript; charset=utf-8' })
    })
    .route('/api/v1/admin', admin)
    .route('/api/v1', chat)
  const adminConsole = options.adminConsole
  if (adminConsole) {
    const serveConsole = (c: Context) => adminConsole(c.req.raw) ?? c.notFound()
    app.get('/admin', serveConsole).get('/admin/*', serveConsole)
  }
  if (options.site) app.route('/', options.site)

  app.notFound((c) =>
    c.json(errorBody('not_found', `No route for ${c.req.method} ${c.req.path}.`), 404),
  )
  app.onError((error, c) => {
    if (error instanceof ApiError) {
      return c.json(errorBody(error.code, error.message, error.issues), error.status, error.headers)
    }
    if (error instanceof HTTPException && error.status < 500) {
      return c.json(errorBody('bad_request', error.message || 'Bad request.'), error.status)
    }
    options.log?.('http.error', { method: c.req.method, path: c.req.path, error: String(error) })
    return c.json(errorBody('internal_error', 'Something went wrong on our side.'), 500)
  })
  return app
}

export type JoonApp = ReturnType<typeof createApp>

/** Edge platforms put the client address in a header; the Node entry reads the socket. */
const forwardedAddress = (request: Request) => proxyAddress(request) ?? 'unknown'
