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
  type Instruction = Record<string, unknown> | null
  const out: PendingMessage[] = []
  for (const instruction of (Array.isArray(responses) ? responses : []) as Instruction[]) {
    if (instruction?.type !== 'text' || !Array.isArray(instruction.elements)) continue
    let delay =
      typeof instruction.delay === 'number' && instruction.delay > 0
        ? Math.min(instruction.delay, MAX_DELAY_MS)
        : 0
    const elements = (instruction.elements as (InstructionElement | null)[])
      // Optional chaining covers null, numbers and strings: none has a string `label`.
      .filter((e): e is InstructionElement => typeof e?.label === 'string')
      // Array#sort is stable: equal or missing orders keep their array position.
      .sort((a, b) => rank(a) - rank(b))
    for (const e of elements) {
      const message: PendingMessage = { text: e.label, delay }
      if (typeof e.placeholder === 'string' && e.placeholder) message.placeholder = e.placeholder
      out.push(message)
      delay = 0 // once, before the first element
    }
  }
  return out
}

/** Missing or not a number: after the others (Infinity − Infinity is NaN, which sorts as equal). */
function rank(element: InstructionElement): number {
  return Number.isFinite(element.order) ? (element.order as number) : Number.POSITIVE_INFINITY
}
