import type { IncomingMessage } from 'node:http'

export interface ScriptedReply {
  /** Text of the answer, one chunk per entry. */
  text?: string[]
  /** A call of a tool; `arguments` is sent in the pieces given. */
  toolCall?: { name: string; arguments: string[] }
  /** An error answer instead of a stream. */
  status?: number
  /** Milliseconds before the first chunk (a slow first token). */
  firstTokenDelayMs?: number
  /** Milliseconds between chunks. */
  chunkDelayMs?: number
  /** Waits for this before the stream's end (after the text). */
  holdUntil?: Promise<void>
  /** Waits for `until` before writing text chunk number `chunk` (from 0). */
  pauseAt?: { chunk: number; until: Promise<void> }
  /** Drops the connection after this many chunks, without `[DONE]`. */
  cutAfterChunks?: number
  usage?: { prompt_tokens: number; completion_tokens: number }
  /** Called just before the first token of text is written. */
  onFirstToken?: () => void
}

export interface ModelFixture {
  /** The API root to register as a model's `baseUrl` (`http://127.0.0.1:PORT/v1`). */
  baseUrl: string
  /** Each call's parsed body and headers. */
  requests: { body: Record<string, unknown>; headers: IncomingMessage['headers'] }[]
  close(): Promise<void>
}

export function startModelFixture(
  script: ScriptedReply[] | ((call: number) => ScriptedReply),
): Promise<ModelFixture>
