import type { Message } from './types.js'

/** One transcript line per message: `Bot: <text>\n` or `User: <text>\n` (contract §3). */
export function transcriptOf(state: { readonly messages: readonly Message[] }): string {
  let transcript = ''
  for (const message of state.messages) transcript += transcriptLine(message)
  return transcript
}

function transcriptLine(message: Message): string {
  return `${message.from === 'bot' ? 'Bot' : 'User'}: ${message.text}\n`
}
