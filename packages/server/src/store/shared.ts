import type { Bot } from '@joon/core'
import type { AttemptRecord } from './types.js'

/** Attempt errors are kept as excerpts of at most this many UTF-8 bytes (issue 4). */
export const ERROR_EXCERPT_BYTES = 2048

const UNSTORABLE = /\0|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g

/**
 * Cuts `text` to at most `ERROR_EXCERPT_BYTES` UTF-8 bytes, never inside a character. NUL and
 * lone surrogates (an error may quote any bytes a receiver sent) become U+FFFD, so every store
 * can keep the text: PostgreSQL refuses NUL in text, and UTF-8 has no lone surrogates.
 */
export function errorExcerpt(raw: string | null): string | null {
  if (raw === null) return null
  const text = raw.replace(UNSTORABLE, '\uFFFD')
  // A UTF-16 code unit is at most 3 UTF-8 bytes, so short strings need no encoding.
  if (text.length * 3 <= ERROR_EXCERPT_BYTES) return text
  const bytes = new TextEncoder().encode(text)
  if (bytes.length <= ERROR_EXCERPT_BYTES) return text
  let end = ERROR_EXCERPT_BYTES
  // Step back over continuation bytes (10xxxxxx) to the start of the cut character.
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--
  return new TextDecoder().decode(bytes.subarray(0, end))
}

/** A copy of an attempt with exactly the stored fields and the error cut to size. */
export function cleanAttempt(attempt: AttemptRecord): AttemptRecord {
  return {
    at: attempt.at,
    status: attempt.status,
    durationMs: attempt.durationMs,
    error: errorExcerpt(attempt.error),
  }
}

/**
 * Fair pick across webhooks: round-robin over `queues` (one per webhook, each already in the
 * order its deliveries should go, and the queues ordered by who waited longest), taking one
 * item per queue per round until `limit` items are taken or every queue is empty.
 */
export function roundRobin<T>(queues: readonly (readonly T[])[], limit: number): T[] {
  const picked: T[] = []
  for (let round = 0; picked.length < limit; round++) {
    let found = false
    for (const queue of queues) {
      const item = queue[round]
      if (item === undefined) continue
      found = true
      picked.push(item)
      if (picked.length >= limit) break
    }
    if (!found) break
  }
  return picked
}

/** Validates lease options shared by every store. */
export function leaseLimits(limit: number, perWebhookLimit: number | undefined) {
  const total = Math.max(0, Math.floor(limit))
  const perWebhook = Math.max(0, Math.floor(perWebhookLimit ?? total))
  return { total, perWebhook: Math.min(perWebhook, total) }
}

/**
 * Bots parsed once and reused while their stored JSON text is unchanged: a turn then costs no
 * JSON.parse of the bot, and the interpreter's block index (cached per bot object) is reused.
 * The objects are shared, so they are deep-frozen: nobody can change what another caller sees.
 */
export class ParsedBots {
  readonly #entries = new Map<string, { text: string; bot: Bot }>()

  constructor(private readonly maxEntries = 1000) {}

  get(id: string, text: string): Bot {
    const hit = this.#entries.get(id)
    if (hit?.text === text) return hit.bot
    const bot = deepFreeze(JSON.parse(text) as Bot)
    if (!hit && this.#entries.size >= this.maxEntries) {
      const oldest = this.#entries.keys().next().value
      if (oldest !== undefined) this.#entries.delete(oldest)
    }
    this.#entries.set(id, { text, bot })
    return bot
  }

  delete(id: string): void {
    this.#entries.delete(id)
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child)
    Object.freeze(value)
  }
  return value
}
