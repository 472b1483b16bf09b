import {
  type Bot,
  type ConversationState,
  runTurn,
  StepError,
  type StepEvent,
  type StepResult,
  type Webhook,
  type WebhookEffect,
  type WebhookOutcome,
} from '@joon/core'
import { ApiError, notFound } from './http/errors.js'
import { timeOrderedId } from './ids.js'
import type { NewDelivery, Store } from './store/types.js'

/** Sends one webhook call; `createWebhookSender` (Node) and `createFetchSender` (edge) fit. */
export interface WebhookSender {
  send(
    webhook: Webhook,
    delivery: { id: string; body: string },
  ): Promise<{
    outcome: WebhookOutcome
    status: number | null
    durationMs: number
    error: string | null
  }>
}

/** What a conversation turn needs from its host. */
export interface TurnDeps {
  store: Store
  /** Performs synchronous webhook calls; without one, sync webhooks fail (and go to onError). */
  sender?: WebhookSender | undefined
  now: () => number
  /** Conversation ids (unguessable). Delivery ids are `timeOrderedId`s. */
  newId: (prefix: string) => string
  /** The retry schedule's first entry: how long a new async delivery waits before its first attempt. */
  firstAttemptDelayMs?: number | undefined
  /**
   * The delivery worker's offer to send a new async delivery straight from memory: the lease
   * to store it with (see `DeliveryWorker.claim`), or null to store it due.
   */
  claimDelivery?: ((webhook: string) => { owner: string; until: number } | null) | undefined
  /**
   * Told after a write that queued asynchronous deliveries (the worker adopts or leases
   * them), or, without a list, that some became due (an admin retry).
   */
  onDeliveriesQueued?: ((deliveries?: readonly NewDelivery[]) => void) | undefined
  log?: ((event: string, fields: Record<string, unknown>) => void) | undefined
}

export interface TurnReply {
  responses: StepResult['responses']
  input: StepResult['input']
  ended: boolean
}

/**
 * Where a visitor's message turns into the bot's next messages: load, step the pure
 * interpreter (performing sync webhooks on the way), then save the new state together with
 * the asynchronous deliveries it produced in one atomic write.
 */
export async function startConversation(
  deps: TurnDeps,
  botId: string,
  variables: Record<string, unknown> | undefined,
): Promise<TurnReply & { conversationId: string }> {
  const bot = await deps.store.getBot(botId)
  if (!bot) throw notFound('Bot', botId)
  const conversationId = deps.newId('c_')
  const event: StepEvent = variables ? { type: 'start', variables } : { type: 'start' }
  const result = await turn(deps, bot, conversationId, null, event)
  const outbox = outboxOf(deps, conversationId, result)
  await deps.store.createConversation(
    { id: conversationId, botId, state: result.state, now: deps.now() },
    outbox,
  )
  if (outbox.length > 0) deps.onDeliveriesQueued?.(outbox)
  return { conversationId, ...replyOf(result) }
}

export async function replyToConversation(
  deps: TurnDeps,
  conversationId: string,
  text: string,
): Promise<TurnReply> {
  const record = await deps.store.getConversation(conversationId)
  if (!record) throw notFound('Conversation', conversationId)
  if (record.state.ended) throw endedError()
  const bot = await deps.store.getBot(record.botId)
  if (!bot) throw notFound('Bot', record.botId)
  const result = await turn(deps, bot, conversationId, record.state, { type: 'reply', text })
  const outbox = outboxOf(deps, conversationId, result)
  const saved = await deps.store.updateConversation(
    { id: conversationId, expectedVersion: record.version, state: result.state, now: deps.now() },
    outbox,
  )
  if (!saved) {
    throw new ApiError(
      409,
      'conflict',
      'Another reply to this conversation was applied first; fetch the conversation and try again.',
    )
  }
  if (outbox.length > 0) deps.onDeliveriesQueued?.(outbox)
  return replyOf(result)
}

async function turn(
  deps: TurnDeps,
  bot: Bot,
  conversationId: string,
  state: ConversationState | null,
  event: StepEvent,
): Promise<StepResult> {
  try {
    return await runTurn(bot, state, event, {
      callWebhook: (effect) => callSyncWebhook(deps, conversationId, effect),
    })
  } catch (error) {
    if (!(error instanceof StepError)) throw error
    if (error.code === 'ended') throw endedError()
    throw new ApiError(409, 'conflict', error.message)
  }
}

const endedError = () =>
  new ApiError(409, 'conversation_ended', 'This conversation has ended; start a new one.')

function replyOf(result: StepResult): TurnReply {
  return { responses: result.responses, input: result.input, ended: result.ended }
}

function outboxOf(deps: TurnDeps, conversationId: string, result: StepResult): NewDelivery[] {
  const createdAt = deps.now()
  return result.effects
    .filter((effect) => effect.async)
    .map((effect) => {
      const lease = deps.claimDelivery?.(effect.webhook)
      return {
        id: timeOrderedId('msg_', createdAt),
        webhook: effect.webhook,
        conversationId,
        async: true,
        body: effect.body,
        createdAt,
        nextAttemptAt: createdAt + (deps.firstAttemptDelayMs ?? 0),
        ...(lease ? { lease } : {}),
      }
    })
}

/** A sync call happens whatever becomes of the turn, so its log entry is written at once. */
async function callSyncWebhook(
  deps: TurnDeps,
  conversationId: string,
  effect: WebhookEffect,
): Promise<WebhookOutcome> {
  const at = deps.now()
  const id = timeOrderedId('msg_', at)
  const webhook = await deps.store.getWebhook(effect.webhook)
  const result =
    webhook && deps.sender
      ? await deps.sender.send(webhook, { id, body: effect.body })
      : {
          outcome: {
            kind: 'failure' as const,
            reason: webhook
              ? 'synchronous webhooks are not available on this runtime'
              : `webhook "${effect.webhook}" is not registered`,
          },
          status: null,
          durationMs: 0,
          error: null,
        }
  const failed = result.outcome.kind === 'failure'
  if (result.outcome.kind === 'responses' && result.outcome.skipped > 0) {
    deps.log?.('webhook.skipped_instructions', {
      webhook: effect.webhook,
      skipped: result.outcome.skipped,
    })
  }
  await deps.store.recordDelivery({
    id,
    webhook: effect.webhook,
    conversationId,
    async: false,
    body: effect.body,
    createdAt: at,
    status: failed ? 'failed' : 'delivered',
    attempt: {
      at,
      status: result.status,
      durationMs: result.durationMs,
      error: result.outcome.kind === 'failure' ? (result.error ?? result.outcome.reason) : null,
    },
  })
  return result.outcome
}
