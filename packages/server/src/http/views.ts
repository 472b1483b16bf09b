import { type Bot, type ConversationState, currentInput, transcriptOf } from '@joon/core'
import type { ConversationRecord, DeliveryRecord } from '../store/types.js'

/** The chat view of a conversation: never the context, which may hold webhook replies. */
export function conversationView(record: ConversationRecord, bot: Bot | null) {
  return {
    conversationId: record.id,
    botId: record.botId,
    messages: record.state.messages,
    input: bot ? currentInput(bot, record.state) : null,
    ended: record.state.ended,
  }
}

export function adminConversationView(record: ConversationRecord, bot: Bot | null) {
  return {
    ...conversationView(record, bot),
    context: contextObject(record.state),
    transcript: transcriptOf(record.state),
    createdAt: iso(record.createdAt),
    updatedAt: iso(record.updatedAt),
  }
}

function contextObject(state: ConversationState): Record<string, unknown> {
  // Null prototype: a stored name can never reach Object.prototype, whatever it is.
  const context: Record<string, unknown> = Object.create(null)
  for (const [name, value] of state.context) context[name] = value
  return context
}

export function deliveryView(delivery: DeliveryRecord) {
  return {
    id: delivery.id,
    webhook: delivery.webhook,
    conversationId: delivery.conversationId,
    async: delivery.async,
    status: delivery.status,
    attempts: delivery.attempts,
    lastStatus: delivery.lastStatus,
    lastError: delivery.lastError,
    createdAt: iso(delivery.createdAt),
    nextAttemptAt: delivery.nextAttemptAt === null ? null : iso(delivery.nextAttemptAt),
  }
}

const iso = (ms: number) => new Date(ms).toISOString()
