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

export interface MessagesApart {
  state: ConversationState
  messages: Message[]
  from: number
}

/**
 * For a host that keeps messages apart from the state (see `ConversationState.earlier`): the
 * state to store, with no messages and `earlier` counting them all, and the messages to append
 * to those already kept, the first at position `from` (0-based).
 */
export function setMessagesApart(state: ConversationState): MessagesApart {
  const from = state.earlier?.messages ?? 0
  const earlier = {
    messages: from + state.messages.length,
    bytes: (state.earlier?.bytes ?? 0) + transcriptBytes(state.messages),
  }
  return { state: { ...state, messages: [], earlier }, messages: state.messages, from }
}

function transcriptLine(message: Message): string {
  return `${message.from === 'bot' ? 'Bot' : 'User'}: ${message.text}\n`
}
