/**
 * The interpreter: one pure transition per event, modelled on XState's `transition()`.
 * `step` returns the next state, the instructions to show, the input expected next and the
 * effects (webhook calls) the host must perform; it performs none of them itself.
 */
import { answersAllowed, checkCollected, collectTool, modelMessages } from './ai.js'
import { matchChoice, validateAnswer } from './answer.js'
import { blockIndex } from './bot-index.js'
import { ruleHolds } from './condition.js'
import { toJsonValue } from './json.js'
import { buildPayload } from './payload.js'
import {
  type AiBlock,
  type AnswerType,
  type Block,
  type Bot,
  type ButtonsBlock,
  FORBIDDEN_KEYS,
  type Input,
  type Instruction,
  type JsonValue,
  type QuestionBlock,
  type WebhookBlock,
} from './schema.js'
import { renderTemplateWith } from './template.js'
import { transcriptBytes } from './transcript.js'
import {
  type AiEffect,
  type AiOutcome,
  type AiProgress,
  type ConversationState,
  type EarlierMessages,
  type Effect,
  type Message,
  StepError,
  type StepEvent,
  type StepGuard,
  type StepResult,
  type WebhookOutcome,
} from './types.js'
import { parseInstructions } from './webhook-reply.js'

/**
 * Most blocks one step runs without waiting for the user or a webhook. A validated bot cannot
 * loop without waiting nor chain more blocks than this (`validateBot` refuses both); this
 * guard ends the conversation of an unvalidated one instead of hanging the host, and says so
 * in the result's `guard`.
 */
export const MAX_BLOCKS_PER_STEP = 1000

/**
 * Most messages a conversation holds, and most UTF-8 bytes of its transcript (the `Bot: …` /
 * `User: …` lines sent to webhooks). They bound what a conversation stores and the size of each
 * webhook payload and model request. A conversation that reaches either limit when it would
 * next wait for the visitor ends with `CONVERSATION_LIMIT_NOTICE` and the result's `guard` is
 * `conversation_size`.
 */
export const MAX_MESSAGES_PER_CONVERSATION = 10_000
export const MAX_TRANSCRIPT_BYTES = 512 * 1024

/** The bot's last message in a conversation ended by its size. */
export const CONVERSATION_LIMIT_NOTICE =
  'This conversation has reached its length limit. Please start a new one to go on.'

/** Shown when a question's answer is invalid and the block has no `retryText`. */
export const DEFAULT_RETRY_TEXTS: Readonly<Record<AnswerType | 'buttons', string>> = {
  text: 'Please type your answer.',
  email:
    "That doesn't look like an email address. Please try again (for example name@example.com).",
  phone: "That doesn't look like a phone number. Please try again (for example +33 6 12 34 56 78).",
  number: 'Please enter a number (for example 42 or 3.5).',
  url: 'Please enter a web address (for example example.com).',
  date: 'Please enter a date (for example 2025-12-31 or 31/12/2025).',
  buttons: 'Please choose one of the options.',
}

/** The `callId` of a conversation's n-th effect: stable, so a host can retry idempotently. */
export function callIdOf(callNumber: number): string {
  return `call-${callNumber}`
}

/**
 * Runs one event against a conversation. Pure: `state` is not modified, and the same inputs
 * always give the same result. Throws `StepError` only for an event that does not fit the
 * state: anything but `start` without a state (`unexpected_event`), any event after the end
 * (`ended`), a reply while a webhook is awaited or an outcome for another call
 * (`unexpected_event`).
 */
export function step(bot: Bot, state: ConversationState | null, event: StepEvent): StepResult {
  if (state === null) {
    if (event.type !== 'start') {
      throw new StepError(
        'unexpected_event',
        `A conversation begins with "start", not "${event.type}".`,
      )
    }
    const turn = new Turn(bot, startingContext(event.variables), [], 0)
    return turn.runFrom(bot.start)
  }
  if (state.v !== 1) {
    throw new StepError(
      'unexpected_event',
      `Conversation state version ${String(state.v)} is not supported.`,
    )
  }
  if (state.ended || state.at === null) throw new StepError('ended', 'The conversation has ended.')
  const turn = new Turn(bot, state.context, state.messages, state.calls, state.ai, state.earlier)
  switch (event.type) {
    case 'reply':
      return turn.reply(state, typeof event.text === 'string' ? event.text : '')
    case 'webhook':
      return turn.webhookOutcome(state, event.callId, event.outcome)
    case 'ai':
      return turn.aiOutcome(state, event.callId, event.outcome)
    case 'start':
      throw new StepError('unexpected_event', 'The conversation has already started.')
    default:
      throw new StepError('unexpected_event', 'Unknown event.')
  }
}

/**
 * What a stored conversation is asking for now (contract §4's `input`), e.g. to show a
 * conversation again after a page reload: null once ended or while a webhook is awaited.
 */
export function currentInput(bot: Bot, state: ConversationState): Input | null {
  if (state.ended || state.waiting !== 'input' || state.at === null) return null
  const block = blockIndex(bot).get(state.at)
  return block?.type === 'question' || block?.type === 'buttons' || block?.type === 'ai'
    ? inputOf(block)
    : null
}

function inputOf(block: QuestionBlock | ButtonsBlock | AiBlock): Input {
  if (block.type === 'ai') return { type: 'text' }
  if (block.type === 'buttons') {
    return { type: 'buttons', choices: block.choices.map((choice) => ({ label: choice.label })) }
  }
  return block.placeholder === undefined
    ? { type: block.answer }
    : { type: block.answer, placeholder: block.placeholder }
}

function startingContext(variables: Record<string, unknown> | undefined): [string, JsonValue][] {
  const context: [string, JsonValue][] = []
  if (typeof variables !== 'object' || variables === null || Array.isArray(variables))
    return context
  for (const name of Object.keys(variables)) {
    if (FORBIDDEN_KEYS.has(name)) continue
    const value = toJsonValue(variables[name])
    if (value !== undefined) context.push([name, value])
  }
  return context
}

/** The work of one step: copies what it changes, so the caller's state stays untouched. */
class Turn {
  private readonly index: ReadonlyMap<string, Block>
  private context: readonly [string, JsonValue][]
  /** The step's own copy of the context, made on the first write (copy-on-write). */
  private ownContext: [string, JsonValue][] | undefined
  /** Position of each variable, built only once a context is big enough to need it. */
  private positions: Map<string, number> | undefined
  private readonly newMessages: Message[] = []
  private readonly responses: Instruction[] = []
  private readonly effects: Effect[] = []
  private readonly visited: string[] = []
  private aiCall: AiEffect | undefined

  constructor(
    private readonly bot: Bot,
    context: readonly [string, JsonValue][],
    private readonly earlierMessages: readonly Message[],
    private calls: number,
    /** The `ai` block's progress while one holds the conversation. */
    private ai: AiProgress | undefined = undefined,
    /** Messages before `earlierMessages` that the host keeps apart. */
    private readonly earlier: EarlierMessages | undefined = undefined,
  ) {
    this.index = blockIndex(bot)
    this.context = context
  }

  reply(state: ConversationState, text: string): StepResult {
    if (state.waiting !== 'input') {
      throw new StepError(
        'unexpected_event',
        `The conversation is waiting for ${state.waiting === 'ai' ? 'a model answer' : 'a webhook'}, not a reply.`,
      )
    }
    const block = this.block(state.at ?? '')
    const answer = text.trim()
    this.newMessages.push({ from: 'user', text: answer })
    if (block.type === 'question') {
      const result = validateAnswer(block.answer, answer)
      if (!result.ok)
        return this.askAgain(block, block.retryText ?? DEFAULT_RETRY_TEXTS[block.answer])
      if (block.saveAnswerTo !== undefined) this.set(block.saveAnswerTo, result.value)
      return this.runFrom(block.next)
    }
    if (block.type === 'buttons') {
      const choice = matchChoice(block, answer)
      if (!choice) return this.askAgain(block, DEFAULT_RETRY_TEXTS.buttons)
      if (block.saveAnswerTo !== undefined)
        this.set(block.saveAnswerTo, choice.value ?? choice.label)
      return this.runFrom(choice.next ?? block.next)
    }
    if (block.type === 'ai') return this.askModel(block)
    throw new StepError('unknown_block', `Block "${block.id}" does not take replies.`)
  }

  aiOutcome(state: ConversationState, callId: string, outcome: AiOutcome): StepResult {
    const block = this.pendingBlock(state, 'ai', callId)
    if (block.type !== 'ai') {
      throw new StepError('unknown_block', `Block "${block.id}" is not an ai block.`)
    }
    const progress = this.ai ?? { answers: 0, invalid: 0 }
    const answer = outcome?.kind === 'answer' ? String(outcome.text ?? '').trim() : ''
    if (answer !== '') {
      this.say(answer, 0)
      this.ai = { ...progress, answers: progress.answers + 1 }
      if (this.ai.answers < answersAllowed(block)) return this.waitForInput(block)
      return this.leaveAi(block.collect ? (block.onError ?? block.next) : block.next)
    }
    if (outcome?.kind === 'collected' && block.collect) {
      const checked = checkCollected(block.collect, outcome.values)
      if (checked.ok) {
        for (const [name, value] of checked.variables) this.set(name, value)
        return this.leaveAi(block.next)
      }
      this.ai = { ...progress, invalid: progress.invalid + 1 }
      if (this.ai.invalid < 2) {
        return this.askModel(
          block,
          `The values you saved were not valid: ${checked.reason}. Ask the visitor for what is missing, or save them again with valid values.`,
        )
      }
    }
    return this.leaveAi(block.onError ?? block.next)
  }

  /** The block the conversation waits in for call `callId`'s outcome. */
  private pendingBlock(state: ConversationState, kind: 'webhook' | 'ai', callId: string): Block {
    const waitsFor = { input: 'a reply', webhook: 'a webhook outcome', ai: 'a model answer' }
    if (state.waiting !== kind) {
      throw new StepError(
        'unexpected_event',
        `The conversation is waiting for ${waitsFor[state.waiting ?? 'input']}, not ${waitsFor[kind]}.`,
      )
    }
    const pending = callIdOf(state.calls)
    if (callId !== pending) {
      throw new StepError(
        'unexpected_event',
        `${kind === 'ai' ? 'Model' : 'Webhook'} call "${callId}" is not pending; "${pending}" is.`,
      )
    }
    return this.block(state.at ?? '')
  }

  private leaveAi(next: string | undefined): StepResult {
    this.ai = undefined
    return this.runFrom(next)
  }

  /** Calls the block's model on the conversation so far; the conversation waits for it. */
  private askModel(block: AiBlock, note?: string): StepResult {
    this.ai ??= { answers: 0, invalid: 0 }
    this.calls++
    this.aiCall = {
      type: 'ai',
      callId: callIdOf(this.calls),
      blockId: block.id,
      model: block.model,
      messages: modelMessages(this.render(block.instructions), this.transcript(), note),
      ...(block.collect ? { tool: collectTool(block.collect) } : {}),
    }
    return this.finish(block.id, 'ai', null)
  }

  webhookOutcome(state: ConversationState, callId: string, outcome: WebhookOutcome): StepResult {
    const block = this.pendingBlock(state, 'webhook', callId)
    if (block.type !== 'webhook') {
      throw new StepError('unknown_block', `Block "${block.id}" is not a webhook block.`)
    }
    switch (outcome?.kind) {
      case 'responses':
        // Re-normalised: the host may build outcomes by hand rather than with parseWebhookReply.
        if (Array.isArray(outcome.responses)) this.showAll(outcome.responses)
        if (Array.isArray(outcome.variables)) this.merge(outcome.variables)
        return this.runFrom(block.next)
      case 'merge':
        if (Array.isArray(outcome.variables)) this.merge(outcome.variables)
        return this.runFrom(block.next)
      case 'none':
        return this.runFrom(block.next)
      case 'failure':
        // A streamed reply that broke off keeps what it had shown and said.
        if (Array.isArray(outcome.responses)) this.showAll(outcome.responses)
        if (Array.isArray(outcome.variables)) this.merge(outcome.variables)
        return this.runFrom(block.onError ?? block.next)
      default:
        return this.runFrom(block.onError ?? block.next)
    }
  }

  /** Runs blocks from `id` until one waits for input or a webhook, or the flow ends. */
  runFrom(id: string | undefined): StepResult {
    let next = id
    for (let count = 0; next !== undefined; count++) {
      if (count === MAX_BLOCKS_PER_STEP) return this.end('blocks')
      const block = this.block(next)
      if (!this.visited.includes(block.id)) this.visited.push(block.id)
      switch (block.type) {
        case 'text':
          this.say(this.render(block.text), block.delay ?? 0)
          next = block.next
          break
        case 'question':
        case 'buttons':
          this.say(this.render(block.text), 0)
          return this.waitForInput(block)
        case 'webhook':
          this.call(block)
          if (!block.async) return this.finish(block.id, 'webhook', null)
          next = block.next
          break
        case 'ai':
          this.ai = undefined
          return this.askModel(block)
        case 'condition': {
          const rule = block.rules.find((candidate) =>
            ruleHolds(candidate, this.get(candidate.variable)),
          )
          next = rule ? rule.next : block.else
          break
        }
        default:
          throw new StepError('unknown_block', `Block "${next}" has an unknown type.`)
      }
    }
    return this.end()
  }

  private askAgain(block: QuestionBlock | ButtonsBlock, retryText: string): StepResult {
    this.say(this.render(retryText), 0)
    return this.waitForInput(block)
  }

  private waitForInput(block: QuestionBlock | ButtonsBlock | AiBlock): StepResult {
    if (this.tooLong()) {
      this.say(CONVERSATION_LIMIT_NOTICE, 0)
      return this.end('conversation_size')
    }
    return this.finish(block.id, 'input', inputOf(block))
  }

  private tooLong(): boolean {
    const apart = this.earlier ?? { messages: 0, bytes: 0 }
    const messages = apart.messages + this.earlierMessages.length + this.newMessages.length
    if (messages >= MAX_MESSAGES_PER_CONVERSATION) return true
    // A UTF-16 unit is at most 3 UTF-8 bytes and a line adds at most 7 (`User: `, `\n`): the
    // exact count is only needed near the limit.
    let units = 0
    for (const message of this.earlierMessages) units += message.text.length + 7
    for (const message of this.newMessages) units += message.text.length + 7
    if (apart.bytes + units * 3 <= MAX_TRANSCRIPT_BYTES) return false
    return apart.bytes + transcriptBytes(this.messages()) > MAX_TRANSCRIPT_BYTES
  }

  private call(block: WebhookBlock): void {
    this.calls++
    this.effects.push({
      type: 'webhook',
      callId: callIdOf(this.calls),
      blockId: block.id,
      webhook: block.webhook,
      async: block.async,
      body: buildPayload({ context: this.context, messages: this.transcript() }),
    })
  }

  private say(text: string, delay: number): void {
    this.responses.push({
      type: 'text',
      delay,
      elements: [{ label: text, order: 1, placeholder: null }],
    })
    this.newMessages.push({ from: 'bot', text })
  }

  private showAll(instructions: readonly unknown[]): void {
    const outcome = parseInstructions(instructions)
    if (outcome.kind !== 'responses') return
    for (const instruction of outcome.responses) {
      this.responses.push(instruction)
      for (const element of instruction.elements)
        this.newMessages.push({ from: 'bot', text: element.label })
    }
  }

  private merge(variables: readonly (readonly [string, unknown])[]): void {
    for (const entry of variables) {
      if (!Array.isArray(entry) || typeof entry[0] !== 'string' || FORBIDDEN_KEYS.has(entry[0]))
        continue
      const value = toJsonValue(entry[1])
      if (value !== undefined) this.set(entry[0], value)
    }
  }

  private render(text: string): string {
    return renderTemplateWith(text, (name) => this.get(name))
  }

  private get(name: string): JsonValue | undefined {
    const position = this.position(name)
    return position === undefined ? undefined : this.context[position]?.[1]
  }

  /** Overwrites a variable in place, or appends it: the payload keeps first-set order. */
  private set(name: string, value: JsonValue): void {
    if (FORBIDDEN_KEYS.has(name)) return
    const position = this.position(name)
    const context = this.writableContext()
    if (position === undefined) {
      context.push([name, value])
      this.positions?.set(name, context.length - 1)
    } else {
      context[position] = [name, value]
    }
  }

  private position(name: string): number | undefined {
    // A linear scan beats building a Map for the handful of variables most bots have.
    if (this.context.length <= 16) {
      for (let i = 0; i < this.context.length; i++) if (this.context[i]?.[0] === name) return i
      return undefined
    }
    if (!this.positions) {
      this.positions = new Map()
      this.context.forEach(([key], i) => {
        if (!this.positions?.has(key)) this.positions?.set(key, i)
      })
    }
    return this.positions.get(name)
  }

  private writableContext(): [string, JsonValue][] {
    if (!this.ownContext) {
      this.ownContext = this.context.slice()
      this.context = this.ownContext
    }
    return this.ownContext
  }

  private messages(): Message[] {
    return this.earlierMessages.concat(this.newMessages)
  }

  /** Every message of the conversation, for a payload or a model's history. */
  private transcript(): Message[] {
    if (this.earlier && this.earlier.messages > 0) {
      throw new StepError(
        'transcript_needed',
        `This step needs the ${this.earlier.messages} messages kept apart from the state.`,
      )
    }
    return this.messages()
  }

  private block(id: string): Block {
    const block = this.index.get(id)
    if (!block) throw new StepError('unknown_block', `Bot "${this.bot.id}" has no block "${id}".`)
    return block
  }

  private end(guard?: StepGuard): StepResult {
    const result = this.finish(null, null, null)
    return guard ? { ...result, guard } : result
  }

  private finish(
    at: string | null,
    waiting: ConversationState['waiting'],
    input: Input | null,
  ): StepResult {
    const ended = at === null
    const state: ConversationState = {
      v: 1,
      botId: this.bot.id,
      at,
      waiting,
      ended,
      context: this.ownContext ?? this.context.slice(),
      messages: this.messages(),
      ...(this.earlier ? { earlier: this.earlier } : {}),
      calls: this.calls,
      ...(this.ai && at !== null ? { ai: this.ai } : {}),
    }
    return {
      state,
      responses: this.responses,
      input,
      ended,
      effects: this.effects,
      visited: this.visited,
      ...(this.aiCall ? { aiCall: this.aiCall } : {}),
    }
  }
}
