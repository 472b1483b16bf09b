import type { Bot, Instruction } from './schema.js'
import { step } from './transition.js'
import type {
  AiEffect,
  AiOutcome,
  ConversationState,
  StepEvent,
  StepResult,
  WebhookEffect,
  WebhookOutcome,
} from './types.js'

export interface RunTurnOptions {
  /**
   * Performs a synchronous webhook call and returns its outcome (`parseWebhookReply` turns an
   * HTTP reply into one). A rejection counts as a failed call. A call whose reply streams in
   * (`WebhookStream`) may hand each instruction to `relay` as it arrives; they must be the
   * first of the outcome's `responses`, which are then not handed to `onInstructions` again.
   */
  callWebhook: (
    effect: WebhookEffect,
    relay?: (instruction: Instruction) => void,
  ) => Promise<WebhookOutcome>
  /**
   * Receives the turn's instructions as soon as each is known, in order: those of the blocks
   * run before a synchronous call are handed over before the call is made. The result's
   * `responses` holds them all the same.
   */
  onInstructions?: (instructions: readonly Instruction[]) => void
  /**
   * Performs an `ai` block's model call and returns its outcome; a rejection counts as a
   * failure. It may hand the answer's text to `onDelta` piece by piece as it streams in (the
   * outcome still holds the whole answer, which becomes the bot's message). Without it, every
   * `ai` block fails (and goes to its `onError`).
   */
  callModel?: (effect: AiEffect, onDelta?: (text: string) => void) => Promise<AiOutcome>
  /** Receives the text of a model answer as it streams in (see `callModel`). */
  onDelta?: (text: string) => void
  /**
   * Most synchronous calls in one turn (default 20). A bot may loop through a webhook (polling,
   * say) and a turn must end: when the limit is reached the conversation ends, as `step` ends
   * a flow that runs too many blocks, rather than staying stuck on a call nobody will make,
   * and the result's `guard` is `webhook_calls`.
   */
  maxWebhookCalls?: number
}

/**
 * Runs one event to the point where the user is asked something or the conversation ends,
 * performing synchronous webhook calls along the way through `callWebhook`. The result
 * combines every step: all responses in order, and in `effects` the asynchronous webhook calls
 * the host should deliver (store them durably, send them in the background).
 */
export async function runTurn(
  bot: Bot,
  state: ConversationState | null,
  event: StepEvent,
  { callWebhook, callModel, maxWebhookCalls = 20, onInstructions, onDelta }: RunTurnOptions,
): Promise<StepResult> {
  let result = step(bot, state, event)
  const responses = [...result.responses]
  const emit = (instructions: readonly Instruction[]) => {
    if (onInstructions && instructions.length > 0) onInstructions(instructions)
  }
  emit(result.responses)
  const effects: WebhookEffect[] = []
  const visited = [...result.visited]
  for (let calls = 0; ; calls++) {
    const pending = collect(result.effects, effects)
    const modelCall = result.aiCall
    if (!pending && !modelCall) {
      const { state, input, ended, guard } = result
      return { state, responses, input, ended, effects, visited, ...(guard ? { guard } : {}) }
    }
    if (calls === maxWebhookCalls) {
      const state: ConversationState = { ...result.state, at: null, waiting: null, ended: true }
      return {
        state,
        responses,
        input: null,
        ended: true,
        effects,
        visited,
        guard: 'webhook_calls',
      }
    }
    if (modelCall) {
      const outcome = await (callModel
        ? callModel(modelCall, onDelta)
        : Promise.reject(new Error('no model caller (runTurn option callModel)'))
      ).catch(
        (error: unknown): AiOutcome => ({
          kind: 'failure',
          reason: error instanceof Error ? error.message : String(error),
        }),
      )
      result = step(bot, result.state, { type: 'ai', callId: modelCall.callId, outcome })
      responses.push(...result.responses)
      emit(result.responses)
      for (const id of result.visited) if (!visited.includes(id)) visited.push(id)
      continue
    }
    if (!pending) continue
    let relayed = 0
    const relay = onInstructions
      ? (instruction: Instruction) => {
          relayed++
          onInstructions([instruction])
        }
      : undefined
    const outcome = await callWebhook(pending, relay).catch(
      (error: unknown): WebhookOutcome => ({
        kind: 'failure',
        reason: error instanceof Error ? error.message : String(error),
      }),
    )
    result = step(bot, result.state, { type: 'webhook', callId: pending.callId, outcome })
    responses.push(...result.responses)
    const shownAlready = 'responses' in outcome ? (outcome.responses?.length ?? 0) : 0
    emit(result.responses.slice(Math.min(relayed, shownAlready)))
    for (const id of result.visited) if (!visited.includes(id)) visited.push(id)
  }
}

/** Moves the asynchronous effects into `into` and returns the synchronous one, if any. */
function collect(
  effects: readonly WebhookEffect[],
  into: WebhookEffect[],
): WebhookEffect | undefined {
  let pending: WebhookEffect | undefined
  for (const effect of effects) {
    if (effect.async) into.push(effect)
    else pending = effect
  }
  return pending
}
