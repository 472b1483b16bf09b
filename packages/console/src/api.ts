import type { Bot, ModelInput, WebhookInput } from '@joon/core'
import { hc, type InferResponseType } from 'hono/client'
// The server's routes, types only (erased from the bundle). A relative path, not a package
// import: @joon/server depends on @joon/console (it serves it), so the reverse would be a cycle.
import type { JoonApp } from '../../server/src/app.ts'

/**
 * The admin API (contract §4), as the console uses it. Only ever same-origin. Every call goes
 * through Hono's typed client over the server's own route types: a route, a parameter, a body
 * or a response field changed on the server without the console following fails
 * `pnpm typecheck` here.
 */

type Admin = ReturnType<typeof hc<JoonApp>>['api']['v1']['admin']

export type Delivery = InferResponseType<Admin['deliveries']['$get'], 200>['deliveries'][number]
export type DeliveryStatus = Delivery['status']
export type DeliveryDetail = InferResponseType<Admin['deliveries'][':id']['$get'], 200>
export type Attempt = DeliveryDetail['history'][number]
export type ConversationDetail = InferResponseType<Admin['conversations'][':id']['$get'], 200>
export type WebhookTestResult = InferResponseType<Admin['webhooks'][':name']['test']['$post'], 200>
/** A webhook as the admin API reads it: secret and header values masked, with its health. */
export type WebhookView = InferResponseType<Admin['webhooks'][':name']['$get'], 200>
export type WebhookHealth = WebhookView['health']
export type BotVersions = InferResponseType<Admin['bots'][':botId']['versions']['$get'], 200>
export type BotVersion = BotVersions['versions'][number]
export type LiveConversations = InferResponseType<Admin['bots'][':botId']['live']['$get'], 200>
/** Per block: conversations that reached it, and those not ended that wait there. */
export type Funnel = InferResponseType<Admin['bots'][':botId']['funnel']['$get'], 200>
/** A registered model as the API shows it: `apiKey` masked (`••••••••c3f9`). */
export type RegisteredModel = InferResponseType<Admin['models']['$get'], 200>['models'][number]
export type ResultsPage = InferResponseType<Admin['conversations']['$get'], 200>
/** One row of the results listing (`GET /conversations`). */
export type ConversationSummary = ResultsPage['conversations'][number]

export interface Issue {
  path: (string | number)[]
  blockId?: string
  message: string
}

/** A refusal from the server, as its `{ error: { code, message, issues? } }` body says. */
export class ApiError extends Error {
  override name = 'ApiError'
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly issues: Issue[] = [],
  ) {
    super(message)
  }
}

export interface ResultsFilter {
  bot?: string
  q?: string
  /** ISO instants: started at or after `since`, before `until`. */
  since?: string
  until?: string
  ended?: boolean
  limit?: number
  cursor?: string
}

export interface DeliveryFilter {
  webhook?: string
  status?: DeliveryStatus
  limit?: number
}

export type AdminClient = ReturnType<typeof createAdminClient>

/** Marks a save made in the console: the bot's version history says so. */
const FROM_CONSOLE = { headers: { 'x-joon-source': 'console' } }

export function createAdminClient(options: {
  token: string
  base?: string
  fetch?: typeof fetch
  /** Told when the server refuses the token, so the console can sign out. */
  onUnauthorized?: () => void
}) {
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis)
  const admin = hc<JoonApp>(options.base ?? '', {
    headers: { authorization: `Bearer ${options.token}`, accept: 'application/json' },
    init: { cache: 'no-store' },
    /** A refused call throws the server's error; an unreachable server a network error. */
    fetch: async (input: RequestInfo | URL, init?: RequestInit) => {
      let response: Response
      try {
        response = await doFetch(input, init)
      } catch {
        throw new ApiError(0, 'network_error', 'The server could not be reached.')
      }
      if (response.status === 401) options.onUnauthorized?.()
      if (!response.ok) throw errorFrom(response.status, await response.text())
      return response
    },
  }).api.v1.admin

  /** A successful answer's JSON body, as the route types it. */
  const json = async <R extends { json(): Promise<unknown> }>(
    response: Promise<R>,
  ): Promise<Awaited<ReturnType<R['json']>>> =>
    (await response).json() as Promise<Awaited<ReturnType<R['json']>>>
  /** For answers without a body (204). */
  const done = async (response: Promise<unknown>): Promise<void> => {
    await response
  }
  // Path parameters are put in the URL as they are: encode them.
  const name = encodeURIComponent
  const bot = (id: string) => ({ param: { botId: name(id) } })

  return {
    listWebhooks: async () => (await json(admin.webhooks.$get())).webhooks,
    putWebhook: (webhook: WebhookInput) =>
      json(admin.webhooks[':name'].$put({ param: { name: name(webhook.name) }, json: webhook })),
    deleteWebhook: (webhook: string) =>
      done(admin.webhooks[':name'].$delete({ param: { name: name(webhook) } })),
    testWebhook: (webhook: string) =>
      json(admin.webhooks[':name'].test.$post({ param: { name: name(webhook) } })),
    /** The signing secret in clear (null when there is none). */
    revealSecret: async (webhook: string) =>
      (await json(admin.webhooks[':name'].secret.reveal.$post({ param: { name: name(webhook) } })))
        .secret,
    /** Stores a new signing secret and answers it, in clear, once. */
    rotateSecret: async (webhook: string) =>
      (await json(admin.webhooks[':name'].secret.rotate.$post({ param: { name: name(webhook) } })))
        .secret,
    /** Registered models, each `apiKey` masked (`••••••••c3f9`). */
    listModels: async () => (await json(admin.models.$get())).models,
    /** A masked `apiKey` sent back as it came keeps the stored key. */
    putModel: (model: ModelInput) =>
      json(admin.models[':name'].$put({ param: { name: name(model.name) }, json: model })),
    deleteModel: (model: string) =>
      done(admin.models[':name'].$delete({ param: { name: name(model) } })),
    listBots: async (): Promise<Bot[]> => (await json(admin.bots.$get())).bots,
    putBot: (id: string, body: Record<string, unknown>): Promise<Bot> =>
      json(admin.bots[':botId'].$put({ ...bot(id), json: body }, FROM_CONSOLE)),
    listBotVersions: (id: string) => json(admin.bots[':botId'].versions.$get(bot(id))),
    getBotVersion: (id: string, version: number): Promise<Bot> =>
      json(
        admin.bots[':botId'].versions[':version'].$get({
          param: { botId: name(id), version: String(version) },
        }),
      ),
    restoreBotVersion: (id: string, version: number): Promise<Bot> =>
      json(
        admin.bots[':botId'].versions[':version'].restore.$post(
          { param: { botId: name(id), version: String(version) } },
          FROM_CONSOLE,
        ),
      ),
    liveConversations: (id: string) => json(admin.bots[':botId'].live.$get(bot(id))),
    funnel: (id: string) => json(admin.bots[':botId'].funnel.$get({ ...bot(id), query: {} })),
    deleteBot: (id: string) => done(admin.bots[':botId'].$delete(bot(id))),
    listDeliveries: async (filter: DeliveryFilter = {}) => {
      const query = {
        limit: String(filter.limit ?? 100),
        ...(filter.webhook ? { webhook: filter.webhook } : {}),
        ...(filter.status ? { status: filter.status } : {}),
      }
      return (await json(admin.deliveries.$get({ query }))).deliveries
    },
    getDelivery: (id: string) => json(admin.deliveries[':id'].$get({ param: { id: name(id) } })),
    retryDelivery: (id: string) =>
      json(admin.deliveries[':id'].retry.$post({ param: { id: name(id) } })),
    getConversation: (id: string) =>
      json(admin.conversations[':id'].$get({ param: { id: name(id) } })),
    listResults: (filter: ResultsFilter) =>
      json(admin.conversations.$get({ query: resultsQuery(filter) })),
    deleteConversation: (id: string) =>
      done(admin.conversations[':id'].$delete({ param: { id: name(id) } })),
    /** How many conversations an erasure would delete (`dryRun`), or deletes them. */
    erase: async (variable: string, value: string, dryRun: boolean) => {
      const reply: { erased?: number; wouldErase?: number } = await json(
        admin.erasure.$post({
          query: dryRun ? { dryRun: 'true' } : {},
          json: { variable, value },
        }),
      )
      return (dryRun ? reply.wouldErase : reply.erased) ?? 0
    },
    /** The bot's results file (CSV or NDJSON), fetched with the token, and its file name. */
    exportResults: async (botId: string, format: 'csv' | 'ndjson', filter: ResultsFilter) => {
      // The export takes the date range and "ended" only (no search, no paging).
      const { limit: _limit, cursor: _cursor, q: _q, bot: _bot, ...range } = filter
      const response = await admin.bots[':botId'].results.$get({
        ...bot(botId),
        query: { format, ...resultsQuery(range) },
      })
      const disposition = response.headers.get('content-disposition') ?? ''
      const file = /filename="([^"]+)"/.exec(disposition)?.[1] ?? `${botId}-results.${format}`
      return { blob: await response.blob(), file }
    },
  }
}

/** The listing's query: only the filters that are set, as strings. */
function resultsQuery(filter: ResultsFilter) {
  const query: Record<string, string> = {}
  if (filter.bot) query.bot = filter.bot
  if (filter.q) query.q = filter.q
  if (filter.since) query.since = filter.since
  if (filter.until) query.until = filter.until
  if (filter.ended !== undefined) query.ended = String(filter.ended)
  if (filter.limit !== undefined) query.limit = String(filter.limit)
  if (filter.cursor) query.cursor = filter.cursor
  return query
}

function errorFrom(status: number, text: string): ApiError {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    json = undefined
  }
  const error =
    typeof json === 'object' && json !== null && 'error' in json
      ? (json as { error: unknown }).error
      : undefined
  if (typeof error === 'object' && error !== null) {
    const { code, message, issues } = error as Record<string, unknown>
    return new ApiError(
      status,
      typeof code === 'string' ? code : 'http_error',
      typeof message === 'string' ? message : `The server answered ${status}.`,
      Array.isArray(issues) ? issues.filter(isIssue) : [],
    )
  }
  return new ApiError(status, 'http_error', `The server answered ${status}.`)
}

function isIssue(value: unknown): value is Issue {
  if (typeof value !== 'object' || value === null) return false
  const issue = value as Record<string, unknown>
  return typeof issue.message === 'string' && Array.isArray(issue.path)
}

/** A message for any error a call may throw. */
export function messageOf(error: unknown): string {
  if (error instanceof ApiError) return error.message
  return error instanceof Error ? error.message : String(error)
}
