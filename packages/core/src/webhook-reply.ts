import { dropForbiddenKeys, jsonTextDepth, MAX_JSON_DEPTH, utf8Length, wellFormed } from './json.js'
import type { Instruction, JsonValue } from './schema.js'
import type { WebhookOutcome } from './types.js'

/** Largest reply body accepted, measured after content decoding (contract §3). */
export const MAX_REPLY_BYTES = 1024 * 1024

/** Longest typing delay a webhook may ask for; longer ones are clamped. */
export const MAX_INSTRUCTION_DELAY_MS = 10_000

export interface WebhookReply {
  status: number
  /** The decoded body: bytes as received (after content decoding), text, or null for none. */
  body: Uint8Array | string | null
}

/**
 * Turns a synchronous webhook's reply into an outcome (contract §3). Total: any status and any
 * bytes give an outcome, never a throw, so a misbehaving endpoint can never break a
 * conversation.
 */
export function parseWebhookReply(reply: WebhookReply): WebhookOutcome {
  try {
    return parseOrFail(reply)
  } catch {
    // Nothing above should throw; this keeps the promise of totality even if a runtime does.
    return { kind: 'failure', reason: 'reply could not be read' }
  }
}

function parseOrFail({ status, body }: WebhookReply): WebhookOutcome {
  if (!(Number.isInteger(status) && status >= 200 && status <= 299)) {
    return failure(`HTTP ${status}`)
  }
  const text = decodeBody(body)
  if (typeof text !== 'string') return text
  if (text.trim() === '') return { kind: 'none' }
  if (jsonTextDepth(text) > MAX_JSON_DEPTH) {
    return failure(`reply is nested more than ${MAX_JSON_DEPTH} levels deep`)
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text, (key, value) => wellFormed(key, dropForbiddenKeys(key, value)))
  } catch {
    return failure('invalid JSON')
  }
  if (parsed === null) return failure('reply is JSON null, not an object')
  if (Array.isArray(parsed)) return failure('reply is a JSON array, not an object')
  if (typeof parsed !== 'object') return failure(`reply is a JSON ${typeof parsed}, not an object`)

  const object = parsed as Record<string, JsonValue>
  if (Object.hasOwn(object, 'responses')) {
    const responses = object.responses
    if (!Array.isArray(responses)) return failure('"responses" is not an array')
    return parseInstructions(responses)
  }
  return { kind: 'merge', variables: Object.entries(object) }
}

function decodeBody(body: Uint8Array | string | null): string | WebhookOutcome {
  if (body === null) return ''
  if (typeof body === 'string') {
    // Each UTF-16 unit encodes to at least one UTF-8 byte and at most three.
    if (body.length > MAX_REPLY_BYTES) return tooLarge()
    if (body.length * 3 > MAX_REPLY_BYTES && utf8Length(body) > MAX_REPLY_BYTES) return tooLarge()
    return stripBom(body)
  }
  if (body.byteLength === 0) return ''
  if (body.byteLength > MAX_REPLY_BYTES) return tooLarge()
  try {
    return UTF8.decode(body)
  } catch {
    return failure('reply is not valid UTF-8')
  }
}

/**
 * fatal: a reply that is not UTF-8 is refused rather than silently mangled. One decoder for
 * every reply: a decode that is not streamed starts afresh, even after an error.
 */
const UTF8 = new TextDecoder('utf-8', { fatal: true })

function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text
}

function tooLarge(): WebhookOutcome {
  return failure('reply larger than 1 MiB')
}

function failure(reason: string): WebhookOutcome {
  return { kind: 'failure', reason }
}

/** Most messages (elements) one webhook reply shows; the rest are skipped. */
export const MAX_MESSAGES_PER_REPLY = 100

/**
 * Keeps the instructions Joon understands, normalised so every consumer can trust them:
 * elements sorted by `order`, labels strings, delay within 0..10000 ms, and no more than
 * `MAX_MESSAGES_PER_REPLY` messages in all (an instruction that would go past it is cut).
 * Anything else is counted in `skipped` for the host to log (contract §5: skipped, never
 * fatal).
 */
export function parseInstructions(items: readonly unknown[]): WebhookOutcome {
  const responses: Instruction[] = []
  let skipped = 0
  let room = MAX_MESSAGES_PER_REPLY
  for (const item of items) {
    const instruction = room > 0 ? normaliseTextInstruction(item) : undefined
    if (!instruction) {
      skipped++
      continue
    }
    if (instruction.elements.length > room) {
      instruction.elements = instruction.elements.slice(0, room)
      skipped++
    }
    room -= instruction.elements.length
    responses.push(instruction)
  }
  return { kind: 'responses', responses, skipped }
}

function normaliseTextInstruction(item: unknown): Instruction | undefined {
  if (!isRecord(item) || item.type !== 'text' || !Array.isArray(item.elements)) return undefined
  const elements: { label: string; order: number; placeholder: string | null }[] = []
  item.elements.forEach((element: unknown, index) => {
    if (!isRecord(element) || typeof element.label !== 'string') return
    elements.push({
      label: element.label,
      // An element without a usable order keeps its place in the list.
      order: isFiniteNumber(element.order) ? element.order : index + 1,
      placeholder: typeof element.placeholder === 'string' ? element.placeholder : null,
    })
  })
  elements.sort((a, b) => a.order - b.order)
  const delay = isFiniteNumber(item.delay)
    ? Math.min(Math.max(item.delay, 0), MAX_INSTRUCTION_DELAY_MS)
    : 0
  return { type: 'text', delay, elements }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value)
}
