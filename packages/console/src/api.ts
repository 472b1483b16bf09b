import type { Bot, Webhook, WebhookInput, WebhookOutcome } from '@joon/core'

/** The admin API (contract §4), as the console uses it. Only ever same-origin. */

export type DeliveryStatus = 'pending' | 'delivered' | 'failed'

export interface Delivery {
  id: string
  webhook: string
  conversationId: string | null
  async: boolean
  status: DeliveryStatus
  attempts: number
  lastStatus: number | null
  lastError: string | null
  createdAt: string
  nextAttemptAt: string | null
}

export interface Attempt {
  at: string
  status: number | null
  durationMs: number
  error: string | null
}

export interface DeliveryDetail extends Delivery {
  body: string
  history: Attempt[]
}

export interface ConversationDetail {
  conversationId: string
  botId: string
  messages: { from: 'bot' | 'user'; text: string }[]
  input: { type: string; placeholder?: string; choices?: { label: string }[] } | null
  ended: boolean
  context: Record<string, unknown>
  transcript: string
  createdAt?: string
  updatedAt?: string
}

export interface WebhookTestResult {
  status: number | null
  durationMs: number
  outcome: WebhookOutcome
  error: string | null
  body?: string
}

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

export interface DeliveryFilter {
  webhook?: string
  status?: DeliveryStatus
  limit?: number
}

export type AdminClient = ReturnType<typeof createAdminClient>

export function createAdminClient(options: {
  token: string
  base?: string
  fetch?: typeof fetch
  /** Told when the server refuses the token, so the console can sign out. */
  onUnauthorized?: () => void
}) {
  const base = `${options.base ?? ''}/api/v1/admin`
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis)

  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${options.token}`,
      accept: 'application/json',
    }
    if (body !== undefined) headers['content-type'] = 'application/json'
    let response: Response
    try {
      response = await doFetch(base + path, {
        method,
        headers,
        cache: 'no-store',
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      })
    } catch {
      throw new ApiError(0, 'network_error', 'The server could not be reached.')
    }
    if (response.status === 401) options.onUnauthorized?.()
    if (response.status === 204) return undefined as T
    const text = await response.text()
    let json: unknown
    try {
      json = text === '' ? undefined : JSON.parse(text)
    } catch {
      json = undefined
    }
    if (!response.ok) throw errorFrom(response.status, json)
    return json as T
  }

  const name = encodeURIComponent
  return {
    listWebhooks: async () => (await call<{ webhooks: Webhook[] }>('GET', '/webhooks')).webhooks,
    putWebhook: (webhook: WebhookInput) =>
      call<Webhook>('PUT', `/webhooks/${name(webhook.name)}`, webhook),
    deleteWebhook: (webhook: string) => call<void>('DELETE', `/webhooks/${name(webhook)}`),
    testWebhook: (webhook: string) =>
      call<WebhookTestResult>('POST', `/webhooks/${name(webhook)}/test`, {}),
    listBots: async () => (await call<{ bots: Bot[] }>('GET', '/bots')).bots,
    putBot: (id: string, bot: unknown) => call<Bot>('PUT', `/bots/${name(id)}`, bot),
    deleteBot: (id: string) => call<void>('DELETE', `/bots/${name(id)}`),
    listDeliveries: async (filter: DeliveryFilter = {}) => {
      const query = new URLSearchParams()
      if (filter.webhook) query.set('webhook', filter.webhook)
      if (filter.status) query.set('status', filter.status)
      query.set('limit', String(filter.limit ?? 100))
      return (await call<{ deliveries: Delivery[] }>('GET', `/deliveries?${query}`)).deliveries
    },
    getDelivery: (id: string) => call<DeliveryDetail>('GET', `/deliveries/${name(id)}`),
    retryDelivery: (id: string) => call<Delivery>('POST', `/deliveries/${name(id)}/retry`, {}),
    getConversation: (id: string) => call<ConversationDetail>('GET', `/conversations/${name(id)}`),
  }
}

function errorFrom(status: number, json: unknown): ApiError {
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
