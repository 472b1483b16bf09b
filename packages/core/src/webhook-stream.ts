import { dropForbiddenKeys, jsonTextDepth, MAX_JSON_DEPTH, wellFormed } from './json.js'
import type { Instruction, JsonValue } from './schema.js'
import type { WebhookOutcome } from './types.js'
import { MAX_MESSAGES_PER_REPLY, parseInstructions } from './webhook-reply.js'

/** How a streamed reply frames its events, told by its content type; null for any other. */
export function streamFormatOf(contentType: string | null): 'sse' | 'ndjson' | null {
  const type = contentType?.split(';')[0]?.trim().toLowerCase()
  if (type === 'text/event-stream') return 'sse'
  if (type === 'application/x-ndjson' || type === 'application/jsonl') return 'ndjson'
  return null
}

/**
 * A synchronous webhook's streamed reply, read as it arrives: Server-Sent Events (each event's
 * `data`) or NDJSON (each line), every event one JSON object. An object with a `type` is an
 * instruction of the `responses` vocabulary, handed to `onInstruction` the moment it is complete
 * (normalised, unknown types skipped, at most `MAX_MESSAGES_PER_REPLY` messages in all); any
 * other object is variables to merge. SSE comments, `event:`/`id:` fields and a `[DONE]` data
 * line are ignored.
 *
 * Feed it decoded bytes with `push`; `finish` gives the outcome of a reply that arrived whole,
 * `cut` that of one that broke off (timeout, network, past the size cap, an event that is not a
 * JSON object): a failure that still carries what arrived, which the flow keeps before taking
 * `onError`.
 */
export class WebhookStream {
  readonly #format: 'sse' | 'ndjson'
  readonly #onInstruction: ((instruction: Instruction) => void) | undefined
  readonly #decoder = new TextDecoder('utf-8', { fatal: true })
  readonly #responses: Instruction[] = []
  readonly #variables: [string, JsonValue][] = []
  #pending = ''
  /** SSE: the data lines of the event being read. */
  #data: string[] = []
  #skipped = 0
  #room = MAX_MESSAGES_PER_REPLY
  #broken: string | null = null

  constructor(format: 'sse' | 'ndjson', onInstruction?: (instruction: Instruction) => void) {
    this.#format = format
    this.#onInstruction = onInstruction
  }

  /** Reads the next decoded bytes of the body. */
  push = (bytes: Uint8Array): void => {
    if (this.#broken) return
    try {
      this.#read(this.#decoder.decode(bytes, { stream: true }))
    } catch {
      this.#broken = 'reply is not valid UTF-8'
    }
  }

  /** The outcome of a reply that arrived in full. */
  finish(): WebhookOutcome {
    if (!this.#broken) {
      try {
        this.#read(`${this.#decoder.decode()}\n\n`)
      } catch {
        this.#broken = 'reply is not valid UTF-8'
      }
    }
    if (this.#broken) return this.cut(this.#broken)
    if (this.#responses.length > 0 || this.#skipped > 0) {
      return {
        kind: 'responses',
        responses: this.#responses,
        skipped: this.#skipped,
        ...this.#merged(),
      }
    }
    return this.#variables.length > 0
      ? { kind: 'merge', variables: this.#variables }
      : { kind: 'none' }
  }

  /** The outcome of a reply that broke off for `reason`, with what arrived before. */
  cut(reason: string): WebhookOutcome {
    return {
      kind: 'failure',
      reason: this.#broken ?? reason,
      ...(this.#responses.length > 0 ? { responses: this.#responses } : {}),
      ...this.#merged(),
    }
  }

  #merged(): { variables?: [string, JsonValue][] } {
    return this.#variables.length > 0 ? { variables: this.#variables } : {}
  }

  #read(text: string): void {
    const lines = (this.#pending + text).split(/\r\n|\r|\n/)
    this.#pending = lines.pop() ?? ''
    for (const line of lines) {
      if (this.#broken) return
      if (this.#format === 'ndjson') {
        if (line.trim() !== '') this.#event(line)
      } else if (line === '') {
        if (this.#data.length > 0) this.#event(this.#data.join('\n'))
        this.#data = []
      } else if (line.startsWith('data:')) {
        this.#data.push(line.slice(line.startsWith('data: ') ? 6 : 5))
      }
    }
  }

  #event(text: string): void {
    if (text.trim() === '[DONE]') return
    let event: unknown
    try {
      if (jsonTextDepth(text) > MAX_JSON_DEPTH) throw new Error('too deep')
      event = JSON.parse(text, (key, value) => wellFormed(key, dropForbiddenKeys(key, value)))
    } catch {
      this.#broken = 'a streamed event is not valid JSON'
      return
    }
    if (typeof event !== 'object' || event === null || Array.isArray(event)) {
      this.#broken = 'a streamed event is not a JSON object'
      return
    }
    if (!Object.hasOwn(event, 'type')) {
      this.#variables.push(...Object.entries(event as Record<string, JsonValue>))
      return
    }
    const parsed = this.#room > 0 ? parseInstructions([event]) : undefined
    const instruction = parsed?.kind === 'responses' ? parsed.responses[0] : undefined
    if (!instruction) {
      this.#skipped++
      return
    }
    if (instruction.elements.length > this.#room) {
      instruction.elements = instruction.elements.slice(0, this.#room)
      this.#skipped++
    }
    this.#room -= instruction.elements.length
    this.#responses.push(instruction)
    this.#onInstruction?.(instruction)
  }
}
