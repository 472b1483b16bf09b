import { type Context, Hono, type MiddlewareHandler } from 'hono'
import { cors } from 'hono/cors'
import { HTTPException } from 'hono/http-exception'
import type { ModelCaller } from './ai/model-caller.js'
import type { TurnDeps, WebhookSender } from './conversation.js'
import { adminRoutes } from './http/admin.js'
import { adminAuth } from './http/auth.js'
import { chatRoutes } from './http/chat.js'
import { compressText, negotiate, notModified, precompress } from './http/compression.js'
import { ApiError, errorBody } from './http/errors.js'
import { modelRoutes } from './http/models.js'
import { addApiDescription, describe } from './http/openapi.js'
import { proxyAddress, RateLimiter } from './http/rate-limit.js'
import { logFor, requestIds, requestLines } from './http/request-log.js'
import { resultsRoutes } from './http/results.js'
import { Health } from './http/schemas.js'
import { timeOrderedId } from './ids.js'
import type { Observer } from './metrics/observer.js'
import type { Store } from './store/types.js'

/** The contract's default: generous enough for a busy office behind one address. */
export const DEFAULT_RATE_LIMIT = 600
/** Replies a minute to one conversation: more than any human types or clicks. */
export const DEFAULT_CONVERSATION_RATE_LIMIT = 120

export interface AppOptions {
  store: Store
  /** Performs synchronous webhook calls (Node: `createWebhookSender`; edge: `createFetchSender`). */
  sender?: WebhookSender
  /** Performs `ai` blocks' model calls (Node: `createModelCaller`); without one they fail. */
  modelCaller?: ModelCaller
  /**
   * Whether webhooks may call private and loopback addresses (`JOON_ALLOW_PRIVATE_URLS`; the
   * sender enforces it). Here it only decides whether registering such a URL warns.
   */
  allowPrivateUrls?: boolean
  /** Bearer token for the admin API; without one the admin API answers 404. */
  adminToken?: string
  /** Chat API requests a minute per client address; 0 disables. */
  rateLimit?: number
  conversationRateLimit?: number
  /** Client address for rate limiting; the Node entry reads the socket. */
  clientAddress?: (request: Request, env: unknown) => string
  /** The widget's script-tag bundle, served at /widget.js. */
  widgetScript?: { body: string; etag: string }
  /** Told when asynchronous deliveries were queued or made due (the Node entry wakes its worker). */
  onDeliveriesQueued?: () => void
  /** The retry schedule (`JOON_RETRY_SCHEDULE`): its first entry delays a delivery's first attempt. */
  retrySchedule?: readonly number[]
  /** The operator console (`consoleHandler` of @joon/console), served at /admin. */
  adminConsole?: (request: Request) => Response | null
  /** Extra routes served beside the API (a site's own pages, as the demo does). */
  site?: Hono
  now?: () => number
  log?: (event: string, fields: Record<string, unknown>) => void
  /** Told of each turn and webhook call (the Node entry's Prometheus metrics). */
  observe?: Observer
  /**
   * Serves `GET /metrics` (Prometheus text format) to the admin token or `metricsToken`:
   * the Node entry's `prometheusMetrics(…).scrape`.
   */
  metrics?: () => Promise<{ body: string; contentType: string }>
  /** `JOON_METRICS_TOKEN`: a token for /metrics only, for a scraper not given the admin one. */
  metricsToken?: string
  /** Logs every request as `http.request` (`JOON_LOG_LEVEL=debug`). */
  logRequests?: boolean
}

/** Builds the Hono app. It never listens: `node.ts` and `edge.ts` do that. */
export function createApp(options: AppOptions) {
  const now = options.now ?? Date.now
  const deps: TurnDeps = {
    store: options.store,
    sender: options.sender,
    modelCaller: options.modelCaller,
    now,
    newId: (prefix) => timeOrderedId(prefix, now()),
    onDeliveriesQueued: options.onDeliveriesQueued,
    firstAttemptDelayMs: options.retrySchedule?.[0],
    log: options.log,
    observe: options.observe,
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
  const admin = new Hono()
    .use(
      adminAuth(options.adminToken, {
        clientAddress: options.clientAddress ?? forwardedAddress,
        now,
      }),
    )
    .route('/', adminRoutes({ deps, allowPrivateUrls: options.allowPrivateUrls ?? false }))
    .route('/', resultsRoutes({ deps }))
    .route('/', modelRoutes({ deps, allowPrivateUrls: options.allowPrivateUrls ?? false }))
  const widget =
    options.widgetScript && precompress(options.widgetScript.body, options.widgetScript.etag)
  // `/widget.js?v=<the first 12 characters of its ETag>` names this exact bundle: cached for good.
  const widgetVersion = widget?.etag.slice(1, 13)

  const app = new Hono()
    .use(requestIds())
    .use(options.logRequests && options.log ? requestLines(options.log) : passThrough)
    .use(compressText())
    .get(
      '/healthz',
      describe(
        'Server',
        'Health',
        { 200: Health, 503: { description: 'The store cannot answer', schema: Health } },
        { admin: false },
      ),
      async (c) => {
        // Healthy means able to serve: a store that cannot answer makes the instance unhealthy.
        try {
          await options.store.ping()
          return c.json({ status: 'ok' }, 200)
        } catch (error) {
          logFor(options.log, c)?.('health.store_unavailable', { error: String(error) })
          return c.json({ status: 'unavailable' }, 503)
        }
      },
    )
    .get(
      '/widget.js',
      describe(
        'Server',
        "The widget's script-tag bundle",
        { 200: { description: 'JavaScript', media: 'text/javascript' } },
        { admin: false },
      ),
      cors({ origin: '*', allowMethods: ['GET'], maxAge: 86_400 }),
      (c) => {
        if (!widget) throw new ApiError(404, 'not_found', 'The widget bundle is not built.')
        const sent = negotiate(widget, c.req.header('accept-encoding'))
        c.header('etag', sent.etag)
        c.header('vary', 'accept-encoding')
        c.header(
          'cache-control',
          c.req.query('v') === widgetVersion
            ? 'public, max-age=31536000, immutable'
            : 'public, max-age=300, must-revalidate',
        )
        if (notModified(widget, c.req.header('if-none-match'))) return c.body(null, 304)
        if (sent.encoding) c.header('content-encoding', sent.encoding)
        return c.body(sent.body, 200, { 'content-type': 'text/javascript; charset=utf-8' })
      },
    )
    .get(
      '/metrics',
      describe(
        'Server',
        'Metrics in the Prometheus text format',
        { 200: { description: 'Prometheus text exposition format', media: 'text/plain' } },
        {
          description:
            'Bearer the admin token or JOON_METRICS_TOKEN. 404 when neither is set or the runtime has no metrics (edge).',
        },
      ),
      adminAuth(options.adminToken, {
        alsoAccept: [options.metricsToken],
        clientAddress: options.clientAddress ?? forwardedAddress,
        now,
        disabled: new ApiError(
          404,
          'metrics_disabled',
          'Metrics are off: set JOON_ADMIN_TOKEN or JOON_METRICS_TOKEN.',
        ),
      }),
      async (c) => {
        if (!options.metrics) {
          throw new ApiError(404, 'metrics_disabled', 'This runtime serves no metrics.')
        }
        const { body, contentType } = await options.metrics()
        return c.body(body, 200, { 'content-type': contentType, 'cache-control': 'no-store' })
      },
    )
    .route('/api/v1/admin', admin)
    .route('/api/v1', chat)
  const adminConsole = options.adminConsole
  if (adminConsole) {
    const serveConsole = (c: Context) => adminConsole(c.req.raw) ?? c.notFound()
    app.get('/admin', serveConsole).get('/admin/*', serveConsole)
  }
  addApiDescription(app)
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
    logFor(options.log, c)?.('http.error', {
      method: c.req.method,
      path: c.req.path,
      error: String(error),
    })
    return c.json(errorBody('internal_error', 'Something went wrong on our side.'), 500)
  })
  return app
}

export type JoonApp = ReturnType<typeof createApp>

/** Edge platforms put the client address in a header; the Node entry reads the socket. */
const forwardedAddress = (request: Request) => proxyAddress(request) ?? 'unknown'

const passThrough: MiddlewareHandler = (_c, next) => next()
