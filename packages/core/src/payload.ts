import { FORBIDDEN_KEYS, type JsonValue } from './schema.js'
import { transcriptOf } from './transcript.js'
import type { Message } from './types.js'

/** The payload key that carries the transcript; it wins over a variable of the same name. */
export const TRANSCRIPT_KEY = 'conversation'

/**
 * The exact body Joon POSTs to a webhook (contract §3): every context variable in the order it
 * was first set, then `"conversation"`, the transcript.
 *
 * The text is assembled by hand from the ordered entries because a JS object would move
 * integer-like names ("123") to the front. It is indented with two spaces, byte-for-byte the
 * layout the contract (and Joonbot's documentation) shows. A variable literally named
 * `conversation` is left out: the transcript takes its place.
 */
export function buildPayload(state: {
  readonly context: readonly (readonly [string, JsonValue])[]
  readonly messages: readonly Message[]
}): string {
  let body = '{\n'
  for (const [name, value] of state.context) {
    if (name === TRANSCRIPT_KEY || FORBIDDEN_KEYS.has(name)) continue
    // JSON strings never hold a raw line break, so re-indenting nested lines is safe.
    body += `  ${JSON.stringify(name)}: ${JSON.stringify(value, null, 2).replaceAll('\n', '\n  ')},\n`
  }
  body += `  ${JSON.stringify(TRANSCRIPT_KEY)}: ${JSON.stringify(transcriptOf(state))}\n}`
  return body
}
