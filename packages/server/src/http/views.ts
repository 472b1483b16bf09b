import {
  type Bot,
  type ConversationState,
  currentInput,
  transcriptOf,
  type Webhook,
} from '@joon/core'
import type { z } from 'zod'
import type { ConversationRecord, DeliveryRecord, WebhookHealth } from '../store/types.js'
import { emptyHealth } from '../store/webhook-health.js'
import { maskedWebhook } from './masking.js'
import type {
  AdminConversationView,
  ConversationView,
  DeliveryView,
  WebhookHealth as HealthView,
  WebhookView,
} from './schemas.js'

/**
 * The chat view of a conversation: never the context, which may hold webhook replies. `bot`
 * is the version it runs on; null when that bot was deleted, and then a live conversation
 * still offers a text box: the visitor's next reply gets the notice that it ended.
 */
export function conversationView(
  record: ConversationRecord,
  bot: Bot | null,
): z.infer<typeof ConversationView> {
  const { state } = record
  return {
    conversationId: record.id,
    botId: record.botId,
    messages: state.messages,
    input: bot ? currentInput(bot, state) : state.ended ? null : { type: 'text' as const },
    ended: state.ended,
  }
}

export function adminConversationView(
  record: ConversationRecord,
  bot: Bot | null,
): z.infer<typeof AdminConversationView> {
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

export function deliveryView(delivery: DeliveryRecord): z.infer<typeof DeliveryView> {
  return {
    id: delivery.id,
    webhook: delivery.webhook,
    // Alerts (src/alerts/) belong to no conversation.
    conversationId: delivery.conversationId === '' ? null : delivery.conversationId,
    async: delivery.async,
    status: delivery.status,
    attempts: delivery.attempts,
    lastStatus: delivery.lastStatus,
    lastError: delivery.lastError,
    createdAt: iso(delivery.createdAt),
    nextAttemptAt: delivery.nextAttemptAt === null ? null : iso(delivery.nextAttemptAt),
  }
}

/** A webhook as admin reads show it: secrets masked, with its health. */
export function webhookView(
  webhook: Webhook,
  health: WebhookHealth | undefined,
): z.infer<typeof WebhookView> {
  return { ...maskedWebhook(webhook), health: healthView(health ?? emptyHealth(webhook.name)) }
}

function healthView(health: WebhookHealth): z.infer<typeof HealthView> {
  const { lastSuccessAt, lastFailureAt, failingSince } = health
  return {
    state:
      health.consecutiveFailures > 0
        ? 'failing'
        : lastSuccessAt === null && lastFailureAt === null
          ? 'unknown'
          : 'healthy',
    lastSuccessAt: lastSuccessAt === null ? null : iso(lastSuccessAt),
    lastFailureAt: lastFailureAt === null ? null : iso(lastFailureAt),
    consecutiveFailures: health.consecutiveFailures,
    failingSince: failingSince === null ? null : iso(failingSince),
    failedDeliveries: health.failedDeliveries,
    lastError: health.lastError,
  }
}

const iso = (ms: number) => new Date(ms).toISOString()
