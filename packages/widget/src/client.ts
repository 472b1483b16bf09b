import type { ConversationView, Reply, StartReply } from './api.js'

/** The widget's only I/O: the chat API of contract §4. */
export interface ChatClient {
  start(botId: string, variables?: Record<string, unknown>): Promise<StartReply>
  reply(conversationId: string, text: string): Promise<Reply>
  get(conversationId: string): Promise<ConversationView>
}

/** A failed call. `status` is 0 when the request never got an HTTP answer. */
export class ChatApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

// A reply can wait on a synchronous webhook (at most 30 s), so allow more than that.
const TIMEOUT_MS = 45_000

export function createFetchClient(server: string, fetchImpl: typeof fetch = fetch): ChatClient {
  const base = `${server.replace(/\/+$/, '')}/api/v1`

  /** A GET, or a POST of `body` as JSON. */
  async function call<T>(path: string, body?: object): Promise<T> {
    let res: Response
    try {
      res = await fetchImpl(base + path, {
        method: body ? 'POST' : 'GET',
        credentials: 'omit',
        headers: body ? { 'content-type': 'application/json' } : {},
        body: JSON.stringify(body),
        signal: AbortSignal.timeout?.(TIMEOUT_MS),
      } as RequestInit)
    } catch (err) {
      throw new ChatApiError(0, 'network', String(err))
    }
    const data = (await res.json().catch(() => null)) as
      | (T & { error?: { code?: string; message?: string } })
      | null
    if (!res.ok || data === null || typeof data !== 'object') {
      const error = data?.error
      throw new ChatApiError(res.status, error?.code ?? 'http', error?.message ?? res.statusText)
    }
    return data
  }

  return {
    start: (botId, variables) =>
      call(`/bots/${encodeURIComponent(botId)}/conversations`, variables ? { variables } : {}),
    reply: (id, text) => call(`/conversations/${encodeURIComponent(id)}/replies`, { text }),
    get: (id) => call(`/conversations/${encodeURIComponent(id)}`),
  }
}
