import type { Input, Instruction, JsonValue } from './schema.js'

/** One line of the transcript. */
export interface Message {
  from: 'bot' | 'user'
  text: string
}

/**
 * A conversation's whole state: plain JSON, safe to store anywhere and to migrate by `v`.
 * `context` is a list of [name, value] entries in the order each name was first set, so the
 * webhook payload keeps that order even for names such as "123" that JS objects would reorder.
 */
export interface ConversationState {
  v: 1
  botId: string
  /** Block waiting for an answer or a webhook outcome; null once ended. */
  at: string | null
  waiting: 'input' | 'webhook' | 'ai' | null
  ended: boolean
  context: [string, JsonValue][]
  /** The transcript's messages, in order: all of them, or those after `earlier`. */
  messages: Message[]
  /**
   * Messages the host keeps apart from the state (a table, say) and that come before
   * `messages`: how many, and the UTF-8 bytes of their transcript lines. Absent: none. `step`
   * counts them toward the size limits and keeps this field as is; when it needs their text (a
   * webhook payload, a model's history) it throws `StepError` `transcript_needed`, and the host
   * calls it again with every message in `messages` and no `earlier`. So a turn that needs no
   * transcript costs the same however long the conversation is.
   */
  earlier?: EarlierMessages
  /** Counts effects produced, so each one gets a stable `callId`. */
  calls: number
  /** While an `ai` block holds the conversation: its answers so far, and invalid collections. */
  ai?: AiProgress
}

export interface EarlierMessages {
  messages: number
  bytes: number
}

export interface AiProgress {
  answers: number
  invalid: number
}

export type StepEvent =
  | { type: 'start'; variables?: Record<string, unknown> }
  | { type: 'reply'; text: string }
  | { type: 'webhook'; callId: string; outcome: WebhookOutcome }
  | { type: 'ai'; callId: string; outcome: AiOutcome }

/** A webhook call the host must perform. `body` is the exact JSON text to POST. */
export interface WebhookEffect {
  type: 'webhook'
  callId: string
  blockId: string
  webhook: string
  async: boolean
  body: string
}

/** One message of a chat-completions request. */
export interface ModelMessage {
  role: 'system' | 'user' | 'assistant'
  content: string
}

/** The one tool an `ai` block with `collect` offers: its arguments are the values. */
export interface AiTool {
  name: string
  description: string
  /** JSON Schema of the arguments: an object of the values to collect, all required. */
  parameters: {
    type: 'object'
    properties: Record<string, { type: 'string' | 'number' | 'boolean'; description: string }>
    required: string[]
    additionalProperties: false
  }
}

/**
 * A language model call the host must perform for an `ai` block (always awaited, like a
 * synchronous webhook): `messages` start with the block's instructions as the system message,
 * then the conversation, the visitor's messages as `user` and the bot's as `assistant`.
 */
export interface AiEffect {
  type: 'ai'
  callId: string
  blockId: string
  /** The registered model's name. */
  model: string
  messages: ModelMessage[]
  /** Offered when the block collects values; the model calls it once it has them all. */
  tool?: AiTool
}

export type Effect = WebhookEffect

/**
 * What a model call gave: text to show, the tool's arguments (the values; `step` checks them),
 * or a failure (timeout, error status, no answer) that sends the flow to `onError`.
 */
export type AiOutcome =
  | { kind: 'answer'; text: string }
  | { kind: 'collected'; values: unknown }
  | { kind: 'failure'; reason: string }

export interface StepResult {
  state: ConversationState
  /** Instructions to show, in order. */
  responses: Instruction[]
  /** What to ask next; null when the conversation ended or waits on a webhook. */
  input: Input | null
  ended: boolean
  /** Effects to perform. A sync webhook effect means the state waits for its outcome. */
  effects: Effect[]
  /** A model call to perform for an `ai` block; the state waits for its outcome. */
  aiCall?: AiEffect
  /**
   * The blocks this step showed or ran, each once, in the order first reached (a question
   * asked again after an invalid answer is not run again). Hosts keep these to count how many
   * conversations reached each block (the results funnel).
   */
  visited: string[]
  /**
   * Set when a safety limit ended the conversation rather than the flow itself: `blocks` when
   * one step ran `MAX_BLOCKS_PER_STEP` blocks, `webhook_calls` when `runTurn` reached
   * `maxWebhookCalls` (a host should log both: the bot needs fixing), `conversation_size` when
   * the conversation reached `MAX_MESSAGES_PER_CONVERSATION` or `MAX_TRANSCRIPT_BYTES`.
   */
  guard?: StepGuard
}

export type StepGuard = 'blocks' | 'webhook_calls' | 'conversation_size'

/**
 * The outcome of a webhook call, as returned by `parseWebhookReply` (or `WebhookStream`: a
 * streamed reply may carry variables beside its instructions, and one that broke off keeps
 * what arrived, which the flow shows and merges before taking `onError`).
 */
export type WebhookOutcome =
  | {
      kind: 'responses'
      responses: Instruction[]
      skipped: number
      variables?: [string, JsonValue][]
    }
  | { kind: 'merge'; variables: [string, JsonValue][] }
  | { kind: 'none' }
  | {
      kind: 'failure'
      reason: string
      responses?: Instruction[]
      variables?: [string, JsonValue][]
    }

export type StepErrorCode = 'ended' | 'unexpected_event' | 'unknown_block' | 'transcript_needed'

/** Thrown by `step` for events that do not fit the state (the host maps them to 409). */
export class StepError extends Error {
  override name = 'StepError'
  constructor(
    readonly code: StepErrorCode,
    message: string,
  ) {
    super(message)
  }
}
