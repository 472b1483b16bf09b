import type { ConversationView, Reply, StartReply } from './api.js'
import { createSseParser } from './sse.js'

/**
 * What a turn brings, as it comes: an `instruction` (contract §5), a `delta` (`{ text }`) of a
 * message still being written, and `done`, the rest of the answer (`input`, `ended`, and
 * `conversationId` when starting). A streamed answer (contract §10) gives each event the
 * moment the server sends it, `done` last; a JSON answer is one `done` with its `responses`.
 */
export type TurnEvent<T> =
  | [event: 'instruction', instruction: unknown]
  | [event: 'delta', delta: { text?: string }]
  | [event: 'done', answer: T]

/** The widget's only I/O: the chat API of contract §4. Failures throw a ChatApiError. */
export interface ChatClient {
  start(botId: string, variables?: Record<string, unknown>): AsyncIterable<TurnEvent<StartReply>>
  reply(conversationId: string, text: string): AsyncIterable<TurnEvent<Reply>>
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

type ErrorBody = { error?: { code?: string; message?: string } } | null

/** The contract's error body as a ChatApiError with the answer's status. */
function refusal(res: Response, data: ErrorBody): ChatApiError {
  const error = data?.error
  return new ChatApiError(res.status, error?.code ?? 'http', error?.message ?? res.statusText)
}

// A reply can wait on a synchronous webhook (at most 30 s), so allow more than that.
const TIMEOUT_MS = 45_000

export function createFetchClient(server: string, fetchImpl: typeof fetch = fetch): ChatClient {
  const base = `${server.replace(/\/+$/, '')}/api/v1`
  const cut = (err: unknown) => new ChatApiError(0, 'network', String(err))

  /** A GET, or a POST of `body` as JSON. */
  async function request(path: string, body?: object): Promise<Response> {
    try {
      return await fetchImpl(base + path, {
        method: body && 'POST',
        credentials: 'omit',
        headers: body && {
          'content-type': 'application/json',
          accept: 'text/event-stream, application/json',
        },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout?.(TIMEOUT_MS),
      } as RequestInit)
    } catch (err) {
      throw cut(err)
    }
  }

  async function json<T>(res: Response): Promise<T> {
    const data = (await res.json().catch(() => null)) as (T & ErrorBody) | null
    if (!res.ok || data === null || typeof data !== 'object') throw refusal(res, data)
    return data
  }

  /**
   * A turn: Server-Sent Events when the server streams it, its JSON answer otherwise (an
   * older server, or a proxy that drops the `accept` header). An `error` event (the turn
   * failed after instructions were sent) throws with the answer's status; a stream that
   * stops before `done` is a network failure (status 0).
   */
  async function* turn<T>(path: string, body: object): AsyncGenerator<TurnEvent<T>> {
    const res = await request(path, body)
    if (!(res.ok && res.headers.get('content-type')?.startsWith('text/event-stream'))) {
      yield ['done', await json<T>(res)]
      return
    }
    const events: [string, unknown][] = []
    const parse = createSseParser((event, data) => events.push([event, JSON.parse(data)]))
    const reader = res.body!.getReader()
    const decoder = new TextDecoder()
    for (;;) {
      // A read that fails throws as it is: the model takes any error but a ChatApiError for
      // a network failure.
      const chunk = await reader.read()
      if (chunk.done) throw cut('cut off')
      parse(decoder.decode(chunk.value, { stream: true }))
      for (const event of events.splice(0)) {
        if (event[0] === 'error') throw refusal(res, event[1] as ErrorBody)
        yield event as TurnEvent<T>
        if (event[0] === 'done') return
      }
    }
  }

  return {
    start: (botId, variables) =>
      turn(`/bots/${encodeURIComponent(botId)}/conversations`, variables ? { variables } : {}),
    reply: (id, text) => turn(`/conversations/${encodeURIComponent(id)}/replies`, { text }),
    get: async (id) => json(await request(`/conversations/${encodeURIComponent(id)}`)),
  }
}
