import { utf8Length } from './json.js'
import type { ConversationState, Message } from './types.js'

/** One transcript line per message: `Bot: <text>\n` or `User: <text>\n` (contract §3). */
export function transcriptOf(state: { readonly messages: readonly Message[] }): string {
  let transcript = ''
  for (const message of state.messages) transcript += transcriptLine(message)
  return transcript
}

/** The UTF-8 bytes of the transcript lines of `messages`. */
export function transcriptBytes(messages: readonly Message[]): number {
  let bytes = 0
  for (const message of messages) bytes += utf8Length(transcriptLine(message))
  return bytes
}

/**
 * `setMessagesApart` leaves a state's messages where they are until it holds more than
 * `MAX_INLINE_MESSAGES`, then moves all but the last `INLINE_MESSAGES_KEPT` apart: a short
 * conversation never has any apart, and a long one's state stays small.
 */
export const MAX_INLINE_MESSAGES = 32
export const INLINE_MESSAGES_KEPT = 16

/** What `setMessagesApart` makes of a state. */
export interface MessagesApart {
  /** The state to store. */
  state: ConversationState
  /** The messages to keep apart after those already kept (none, most turns)... */
  messages: Message[]
  /** ...the first of them at this position (0-based) of the transcript. */
  from: number
}

/**
 * For a host that keeps messages apart from the state (see `ConversationState.earlier`): when
 * the state holds more than `MAX_INLINE_MESSAGES`, its older messages move apart (`earlier`
 * then counts them) and only the last `INLINE_MESSAGES_KEPT` stay in it. A state without
 * `earlier` holds the whole transcript: the host replaces whatever it kept with `messages`.
 */
export function setMessagesApart(state: ConversationState): MessagesApart {
  const from = state.earlier?.messages ?? 0
  if (state.messages.length <= MAX_INLINE_MESSAGES) return { state, messages: [], from }
  const moved = state.messages.slice(0, state.messages.length - INLINE_MESSAGES_KEPT)
  const earlier = {
    messages: from + moved.length,
    bytes: (state.earlier?.bytes ?? 0) + transcriptBytes(moved),
  }
  const kept = state.messages.slice(moved.length)
  return { state: { ...state, messages: kept, earlier }, messages: moved, from }
}

function transcriptLine(message: Message): string {
  return `${message.from === 'bot' ? 'Bot' : 'User'}: ${message.text}\n`
}
