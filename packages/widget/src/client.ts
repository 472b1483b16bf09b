import type { ConversationView, Reply, StartReply } from './api.js'

/** The widget's only I/O: the chat API of contract §4. */
export interface ChatClient {
  start(botId: string, variables?: Record<string, unknown>): Promise<StartReply>
  reply(conversationId: string, text: string): Promise<Reply>
  get(conversationId: string): Promise<ConversationView>
}

/** A failed call. `status` is 0 when the request never got an HTTP answer. */
export class ChatApiError extends Error {
  override name = 'ChatApiError'
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

  async function call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    let res: Response
    try {
      const init: RequestInit = { method, credentials: 'omit', headers: {} }
      if (body !== undefined) {
        init.headers = { 'content-type': 'application/json' }
        init.body = JSON.stringify(body)
      }
      if (typeof AbortSignal.timeout === 'function') init.signal = AbortSignal.timeout(TIMEOUT_MS)
      res = await fetchImpl(base + path, init)
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
      call(
        'POST',
        `/bots/${encodeURIComponent(botId)}/conversations`,
        variables ? { variables } : {},
      ),
    reply: (id, text) => call('POST', `/conversations/${encodeURIComponent(id)}/replies`, { text }),
    get: (id) => call('GET', `/conversations/${encodeURIComponent(id)}`),
  }
}
