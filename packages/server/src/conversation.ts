import {
  type AiEffect,
  type AiOutcome,
  type Bot,
  type ConversationState,
  type Instruction,
  runTurn,
  StepError,
  type StepEvent,
  type StepResult,
  type WebhookEffect,
  type WebhookOutcome,
} from '@joon/core'
import type { WebhookSender } from '@joon/core/webhook'
import type { ModelCaller, ModelCallResult } from './ai/model-caller.js'
import { ApiError, notFound } from './http/errors.js'
import { timeOrderedId } from './ids.js'
import type { Observer } from './metrics/observer.js'
import { withMessages } from './store/conversations.js'
import type { ConversationRecord, ConversationWithBot, NewDelivery, Store } from './store/types.js'

/** Sends one webhook call; `createWebhookSender` (Node) and `createFetchSender` (edge) fit. */
export type { WebhookSender } from '@joon/core/webhook'

/** What a conversation turn needs from its host. */
export interface TurnDeps {
  store: Store
  /** Performs synchronous webhook calls; without one, sync webhooks fail (and go to onError). */
  sender?: WebhookSender | undefined
  /** Performs `ai` blocks' model calls; without one, they fail (and go to onError). */
  modelCaller?: ModelCaller | undefined
  now: () => number
  /**
   * New conversation ids: unguessable, and in creation order (`timeOrderedId`), so a new
   * conversation's index entries, and its deliveries' by conversation, land at the end of the
   * store's indexes instead of on random pages: an outbox row cost SQLite 40 µs with random
   * conversation ids, 18 µs with these (most of the difference is pages written per commit).
   */
  newId: (prefix: string) => string
  /** The retry schedule's first entry: how long a new async delivery waits before its first attempt. */
  firstAttemptDelayMs?: number | undefined
  /** Told after a write that queued asynchronous deliveries, or made some due (an admin retry). */
  onDeliveriesQueued?: (() => void) | undefined
  log?: ((event: string, fields: Record<string, unknown>) => void) | undefined
  /** Told of each turn and synchronous webhook call (metrics). */
  observe?: Observer | undefined
}

/** Receives a turn's instructions as soon as each is known, and model text as it streams. */
export interface TurnListener {
  onInstructions(instructions: readonly Instruction[]): void
  onDelta(text: string): void
}

export interface TurnReply {
  responses: StepResult['responses']
  input: StepResult['input']
  ended: boolean
}

/**
 * What a live conversation whose bot was deleted says at its next reply, before it ends: the
 * flow it waited in is gone, and a dead end (a 409 at every reply) would strand the visitor.
 */
export const BOT_GONE_NOTICE =
  'This chat has ended because the bot behind it was changed. Start a new chat to continue.'

/**
 * Where a visitor's message turns into the bot's next messages: load, step the pure
 * interpreter (performing sync webhooks on the way), then save the new state together with
 * the asynchronous deliveries it produced in one atomic write.
 *
 * A conversation runs on the bot version it started on until it ends: an edit
 * that removes or rewrites the blocks it waits on changes nothing for it; new conversations
 * get the latest version.
 */
export async function startConversation(
  deps: TurnDeps,
  botId: string,
  variables: Record<string, unknown> | undefined,
  listener?: TurnListener,
): Promise<TurnReply & { conversationId: string }> {
  const started = performance.now()
  const latest = await deps.store.getLatestBot(botId)
  if (!latest) throw notFound('Bot', botId)
  return observed(deps, botId, started, () => start(deps, botId, latest, variables, listener))
}

async function start(
  deps: TurnDeps,
  botId: string,
  latest: { bot: Bot; version: number },
  variables: Record<string, unknown> | undefined,
  listener: TurnListener | undefined,
): Promise<TurnReply & { conversationId: string }> {
  const conversationId = deps.newId('c_')
  const event: StepEvent = variables ? { type: 'start', variables } : { type: 'start' }
  const result = await turn(deps, latest.bot, conversationId, null, event, listener)
  const outbox = outboxOf(deps, conversationId, result)
  await deps.store.createConversation(
    {
      id: conversationId,
      botId,
      botVersion: latest.version,
      state: result.state,
      now: deps.now(),
      reached: result.visited,
    },
    outbox,
  )
  if (outbox.length > 0) deps.onDeliveriesQueued?.()
  return { conversationId, ...replyOf(result) }
}

export async function replyToConversation(
  deps: TurnDeps,
  conversationId: string,
  text: string,
  listener?: TurnListener,
): Promise<TurnReply> {
  const started = performance.now()
  const found = await deps.store.getConversationWithBot(conversationId)
  if (!found) throw notFound('Conversation', conversationId)
  if (found.record.state.ended) throw endedError()
  return observed(deps, found.record.botId, started, () => reply(deps, found, text, listener))
}

async function reply(
  deps: TurnDeps,
  { record, bot }: ConversationWithBot,
  text: string,
  listener: TurnListener | undefined,
): Promise<TurnReply> {
  const conversationId = record.id
  if (!bot) return endForGoneBot(deps, record, text)
  let result: StepResult
  try {
    result = await replyTurn(deps, bot, record, text, listener)
  } catch (error) {
    // Only a conversation not pinned to a version (none are since versions exist) can wait on
    // a block its bot no longer has: end it clearly rather than answer 409 forever.
    if (error instanceof StepError && error.code === 'unknown_block') {
      return endForGoneBot(deps, record, text)
    }
    throw error
  }
  const outbox = outboxOf(deps, conversationId, result)
  const reached = reachedAfter(record.reached, result.visited)
  const saved = await deps.store.updateConversation(
    {
      id: conversationId,
      expectedVersion: record.version,
      state: result.state,
      now: deps.now(),
      ...(reached ? { reached } : {}),
    },
    outbox,
  )
  if (!saved) throw conflictError()
  if (outbox.length > 0) deps.onDeliveriesQueued?.()
  return replyOf(result)
}

/**
 * Runs a reply on the state as stored: a long conversation's older messages are kept apart
 * (`state.earlier`) and read only when the turn needs their text (a webhook payload, a model's
 * history). The result's state has the same `earlier`, as the store expects it.
 */
async function replyTurn(
  deps: TurnDeps,
  bot: Bot,
  record: ConversationRecord,
  text: string,
  listener: TurnListener | undefined,
): Promise<StepResult> {
  const event: StepEvent = { type: 'reply', text }
  try {
    return await turn(deps, bot, record.id, record.state, event, listener)
  } catch (error) {
    if (!(error instanceof StepError && error.code === 'transcript_needed')) throw error
  }
  // `step` asks before it performs or shows anything, so running the turn again is safe.
  const whole = withMessages(record.state, await deps.store.getMessages(record.id))
  const result = await turn(deps, bot, record.id, whole, event, listener)
  const { earlier } = record.state
  const messages = result.state.messages.slice(earlier?.messages ?? 0)
  return { ...result, state: { ...result.state, messages, ...(earlier ? { earlier } : {}) } }
}

/** Runs a turn of `botId`'s, telling `deps.observe` how it went and how long it took. */
async function observed<T extends TurnReply>(
  deps: TurnDeps,
  botId: string,
  started: number,
  run: () => Promise<T>,
): Promise<T> {
  const seconds = () => (performance.now() - started) / 1000
  try {
    const result = await run()
    deps.observe?.turn(botId, result.ended ? 'ended' : 'waiting', seconds())
    return result
  } catch (error) {
    const conflict = error instanceof ApiError && error.status === 409
    deps.observe?.turn(botId, conflict ? 'conflict' : 'error', seconds())
    throw error
  }
}

/** The blocks reached once a step visited `visited`; undefined when nothing new was reached. */
function reachedAfter(
  reached: readonly string[],
  visited: readonly string[],
): string[] | undefined {
  const added = visited.filter((id) => !reached.includes(id))
  return added.length > 0 ? [...reached, ...added] : undefined
}

/** Records the visitor's reply and the notice, and ends the conversation. */
async function endForGoneBot(
  deps: TurnDeps,
  record: ConversationRecord,
  text: string,
): Promise<TurnReply> {
  const state: ConversationState = {
    ...record.state,
    at: null,
    waiting: null,
    ended: true,
    messages: [
      ...record.state.messages,
      { from: 'user', text: text.trim() },
      { from: 'bot', text: BOT_GONE_NOTICE },
    ],
  }
  const saved = await deps.store.updateConversation({
    id: record.id,
    expectedVersion: record.version,
    state,
    now: deps.now(),
  })
  if (!saved) throw conflictError()
  deps.log?.('conversation.bot_gone', {
    conversationId: record.id,
    botId: record.botId,
    botVersion: record.botVersion,
  })
  return {
    responses: [
      {
        type: 'text',
        delay: 0,
        elements: [{ label: BOT_GONE_NOTICE, order: 1, placeholder: null }],
      },
    ],
    input: null,
    ended: true,
  }
}

const conflictError = () =>
  new ApiError(
    409,
    'conflict',
    'Another reply to this conversation was applied first; fetch the conversation and try again.',
  )

async function turn(
  deps: TurnDeps,
  bot: Bot,
  conversationId: string,
  state: ConversationState | null,
  event: StepEvent,
  listener: TurnListener | undefined,
): Promise<StepResult> {
  try {
    const result = await runTurn(bot, state, event, {
      callWebhook: (effect, relay) => callSyncWebhook(deps, conversationId, effect, relay),
      callModel: (effect, onDelta) => callModel(deps, conversationId, effect, onDelta),
      ...(listener
        ? {
            onInstructions: (instructions) => listener.onInstructions(instructions),
            onDelta: (text) => listener.onDelta(text),
          }
        : {}),
    })
    // A safety limit ended the conversation, not the flow: the bot needs fixing.
    if (result.guard) {
      deps.log?.('conversation.guard_stopped', {
        botId: bot.id,
        conversationId,
        guard: result.guard,
      })
    }
    return result
  } catch (error) {
    if (!(error instanceof StepError) || error.code === 'transcript_needed') throw error
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
    .map((effect) => ({
      id: timeOrderedId('msg_', createdAt),
      webhook: effect.webhook,
      conversationId,
      async: true,
      body: effect.body,
      createdAt,
      nextAttemptAt: createdAt + (deps.firstAttemptDelayMs ?? 0),
    }))
}

/** A sync call happens whatever becomes of the turn, so its log entry is written at once. */
async function callSyncWebhook(
  deps: TurnDeps,
  conversationId: string,
  effect: WebhookEffect,
  relay: ((instruction: Instruction) => void) | undefined,
): Promise<WebhookOutcome> {
  const at = deps.now()
  const id = timeOrderedId('msg_', at)
  const webhook = await deps.store.getWebhook(effect.webhook)
  const result =
    webhook && deps.sender
      ? await deps.sender.send(webhook, {
          id,
          body: effect.body,
          ...(relay ? { onInstruction: relay } : {}),
        })
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
  if (webhook) {
    deps.observe?.webhookCall(
      effect.webhook,
      'sync',
      failed ? 'failed' : 'delivered',
      result.durationMs / 1000,
    )
  }
  if (result.outcome.kind === 'responses' && result.outcome.skipped > 0) {
    deps.log?.('webhook.skipped_instructions', {
      webhook: effect.webhook,
      conversationId,
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

/** An `ai` block's model call, recorded in the delivery log as `ai:<model>` with its tokens. */
async function callModel(
  deps: TurnDeps,
  conversationId: string,
  effect: AiEffect,
  onDelta: ((text: string) => void) | undefined,
): Promise<AiOutcome> {
  const at = deps.now()
  const model = await deps.store.getModel(effect.model)
  const result: ModelCallResult =
    model && deps.modelCaller
      ? await deps.modelCaller.call(model, effect, onDelta)
      : {
          outcome: {
            kind: 'failure',
            reason: model
              ? 'language models are not available on this runtime'
              : `model "${effect.model}" is not registered`,
          },
          status: null,
          durationMs: 0,
          usage: null,
        }
  const failed = result.outcome.kind === 'failure'
  await deps.store.recordDelivery({
    id: timeOrderedId('msg_', at),
    webhook: `ai:${effect.model}`,
    conversationId,
    async: false,
    body: JSON.stringify({ blockId: effect.blockId, model: effect.model, usage: result.usage }),
    createdAt: at,
    status: failed ? 'failed' : 'delivered',
    attempt: {
      at,
      status: result.status,
      durationMs: result.durationMs,
      error: result.outcome.kind === 'failure' ? result.outcome.reason : null,
    },
  })
  return result.outcome
}
