import type { InstructionElement } from './api.js'

/** One bot message to show, after `delay` ms of typing indicator. */
export interface PendingMessage {
  text: string
  delay: number
  /** Joonbot's per-element placeholder, used for the answer box when `input` has none. */
  placeholder?: string
}

// A webhook may ask for any delay; a visitor will not wait a minute for one message.
const MAX_DELAY_MS = 30_000

/**
 * Flattens `responses` (contract §5) into messages. Each element of a text instruction is one
 * message, in `order`; the instruction's `delay` comes once, before its first element (Joonbot
 * puts one element in each instruction; several appear together). Instructions of any other
 * type, or malformed ones, are skipped.
 */
export function toMessages(responses: unknown): PendingMessage[] {
  const out: PendingMessage[] = []
  if (!Array.isArray(responses)) return out
  for (const instruction of responses as (Record<string, unknown> | null)[]) {
    if (instruction?.type !== 'text' || !Array.isArray(instruction.elements)) continue
    const delay =
      typeof instruction.delay === 'number' && instruction.delay > 0 ? instruction.delay : 0
    const elements = (instruction.elements as (InstructionElement | null)[])
      // Optional chaining covers null, numbers and strings: none has a string `label`.
      .filter((e): e is InstructionElement => typeof e?.label === 'string')
      // Array#sort is stable: equal or missing orders keep their array position.
      .sort((a, b) => rank(a) - rank(b))
    for (const [i, e] of elements.entries()) {
      const message: PendingMessage = {
        text: e.label,
        delay: i ? 0 : Math.min(delay, MAX_DELAY_MS),
      }
      if (typeof e.placeholder === 'string' && e.placeholder) message.placeholder = e.placeholder
      out.push(message)
    }
  }
  return out
}

function rank(element: InstructionElement): number {
  return Number.isFinite(element.order) ? (element.order as number) : Number.MAX_VALUE
}
