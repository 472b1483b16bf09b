/**
 * The chat API's wire shapes (contract §4 and §5), declared here rather than imported from
 * @joon/core so the published types need nothing but this package. test/contract-types.test.ts
 * proves they stay assignable to and from core's.
 */

/** One element of a text instruction: one bot message. */
export interface InstructionElement {
  label: string
  order?: number | undefined
  placeholder?: string | null | undefined
}

/** Joonbot's text instruction. Other types may arrive from webhooks and are skipped. */
export interface TextInstruction {
  type: 'text'
  delay?: number | undefined
  elements: InstructionElement[]
}

export type InputType = 'text' | 'email' | 'phone' | 'number' | 'url' | 'date' | 'buttons'

/** What the bot asks for next; null once the conversation ended. */
export interface Input {
  type: InputType
  placeholder?: string
  choices?: { label: string }[]
}

export interface Message {
  from: 'bot' | 'user'
  text: string
}

export interface StartReply {
  conversationId: string
  responses: unknown[]
  input: Input | null
  ended: boolean
}

export interface Reply {
  responses: unknown[]
  input: Input | null
  ended: boolean
  /** Not in the contract yet: a server that knows the answer was refused may say so. */
  invalid?: boolean
}

export interface ConversationView {
  conversationId: string
  botId: string
  messages: Message[]
  input: Input | null
  ended: boolean
}
