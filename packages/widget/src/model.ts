import type { Input, Reply } from './api.js'
import { ChatApiError, type ChatClient, type TurnEvent } from './client.js'
import { toMessages } from './instructions.js'
import type { SessionStore } from './session.js'

export interface TranscriptItem {
  id: number
  from: 'bot' | 'user'
  text: string
  /** User replies only: 'sending' until the server answers, 'failed' offers a retry. */
  status?: 'sending' | 'failed' | undefined
  /** Restored from the server after a reload: already read, not to be announced again. */
  old?: true
}

/** `idle`: no conversation yet (one starts on first open); `error`: start or resume failed. */
export type Phase = 'idle' | 'loading' | 'ready' | 'error'

export interface ChatState {
  open: boolean
  phase: Phase
  items: TranscriptItem[]
  /** The typing indicator, shown while a reply is in flight and during an instruction's delay. */
  typing: boolean
  input: Input | null
  /** From the last instruction elements (Joonbot's `placeholder`), used when `input` has none. */
  placeholder: string | null
  ended: boolean
  /** The server asked the same thing again: the last answer was refused. */
  invalid: boolean
  /** Text of a bot message still being written (streamed), until the message itself comes. */
  draft: string | null
  /** A reply is in flight or bot messages are still being shown: answers wait. */
  busy: boolean
  unread: number
  /** A line for the visitor when something went wrong outside the transcript. */
  notice: string | null
}

export interface ChatModel {
  get(): ChatState
  subscribe(listener: () => void): () => void
  open(): void
  close(): void
  toggle(): void
  /** Forgets the conversation; a new one starts now if the panel is open, else on next open. */
  reset(): void
  /** Sends an answer; false when it cannot be sent now (nothing typed, or the bot is busy). */
  send(text: string): boolean
  /** Sends a failed reply again. */
  retry(itemId: number): void
  /** Tries again after a failed start or resume. */
  reconnect(): void
  dispose(): void
}

export interface ChatModelOptions {
  client: ChatClient
  bot: string
  session: SessionStore
  /** Starting context of new conversations (contract §2, like hidden fields). */
  variables?: Record<string, unknown> | undefined
  /** The clock behind typing delays; tests pass their own. */
  wait?: (ms: number) => Promise<void>
}

const INITIAL: ChatState = {
  open: false,
  phase: 'idle',
  items: [],
  typing: false,
  input: null,
  placeholder: null,
  ended: false,
  invalid: false,
  draft: null,
  busy: false,
  unread: 0,
  notice: null,
}

export function createChatModel(options: ChatModelOptions): ChatModel {
  const { client, session } = options
  const wait = options.wait ?? ((ms) => new Promise<void>((resolve) => setTimeout(resolve, ms)))
  const listeners = new Set<() => void>()
  const saved = session.load()
  let conversationId = saved.conversationId
  // The text of a reply that could not be sent, kept across reloads until sent or replaced.
  let pending = saved.pending
  let state: ChatState = INITIAL
  let lastId = 0
  // Bumped by reset and dispose: answers and timers of an older conversation are dropped.
  let epoch = 0

  const set = (patch: Partial<ChatState>) => {
    state = { ...state, ...patch }
    for (const listener of listeners) listener()
  }
  const persist = () => session.save({ conversationId, open: state.open, pending })
  const item = (from: 'bot' | 'user', text: string): TranscriptItem => ({
    id: ++lastId,
    from,
    text,
  })
  const setStatus = (id: number, status?: 'sending' | 'failed') =>
    set({
      items: state.items.map((it) => (it.id === id ? { ...it, status } : it)),
    })

  function start() {
    set({ phase: 'loading', notice: null })
    void turn(
      client.start(options.bot, options.variables),
      () => set({ phase: 'ready', busy: true }),
      (reply) => {
        conversationId = reply.conversationId
        persist()
        return false
      },
      // The conversation's id comes at the end of the answer: without it, what was shown of
      // a cut-off start belongs to a conversation the widget cannot go on with.
      (err) => set({ phase: 'error', items: [], notice: describe(err, true) }),
    )
  }

  /** Loads the conversation as the server has it; `explainEnd` when a reply was refused. */
  function resume(id: string, explainEnd = false) {
    const my = epoch
    set({ phase: 'loading', notice: null })
    client.get(id).then(
      (view) => {
        if (my !== epoch) return
        set({
          phase: 'ready',
          items: [
            ...view.messages.map((m): TranscriptItem => ({ ...item(m.from, m.text), old: true })),
            ...(pending ? [{ ...item('user', pending), status: 'failed' as const }] : []),
          ],
          input: view.input,
          ended: view.ended,
          busy: false,
          notice: explainEnd && view.ended ? 'This conversation has ended.' : null,
        })
      },
      (err: unknown) => {
        if (my !== epoch) return
        if (statusOf(err) === 404) {
          // The server forgot it (expired, another database): start afresh, silently.
          conversationId = null
          persist()
          set({ phase: 'idle' })
          if (state.open) start()
        } else {
          set({ phase: 'error', notice: describe(err) })
        }
      },
    )
  }

  /**
   * Runs a turn: shows each instruction as it arrives (streamed) or all of them (a JSON
   * answer), one message after another, each after its typing delay; deltas grow a draft that
   * the next message replaces. While a stream is under way the typing indicator stays on
   * between messages. `heard` runs at the first sign of an answer, `answered` when its end
   * comes (it says whether the answer was refused), `failed` once what arrived before a
   * failure is shown, told whether anything did.
   */
  async function turn<R extends Reply>(
    events: AsyncIterable<TurnEvent<R>>,
    heard: () => void,
    answered: (reply: R) => boolean,
    failed: (err: unknown, partial: boolean) => void,
  ) {
    const my = epoch
    let partial = false
    let placeholder: string | null = null
    let reply: R | undefined
    let invalid = false
    try {
      for await (const [event, data] of events) {
        if (my !== epoch) return
        if (!partial) heard()
        partial = true
        if (event === 'delta') {
          set({ typing: true, draft: (state.draft ?? '') + (data.text ?? '') })
          continue
        }
        if (event === 'done') {
          reply = data
          invalid = answered(data)
        }
        // A streamed `done` has no responses: they came one by one before it.
        for (const message of toMessages(event === 'done' ? data.responses : [data])) {
          // A message written before the visitor's eyes has had its wait.
          if (message.delay > 0 && state.draft === null) {
            set({ typing: true })
            await wait(message.delay)
            if (my !== epoch) return
          }
          placeholder = message.placeholder ?? placeholder
          set({
            typing: !reply,
            draft: null,
            items: [...state.items, item('bot', message.text)],
            unread: state.open ? 0 : state.unread + 1,
          })
        }
      }
      set({
        typing: false,
        busy: false,
        draft: null,
        input: reply!.input,
        ended: reply!.ended,
        placeholder,
        invalid,
      })
    } catch (err) {
      if (my !== epoch) return
      set({ typing: false, busy: false, draft: null })
      failed(err, partial)
    }
  }

  function deliver(entry: TranscriptItem) {
    const id = conversationId
    if (id === null) return
    const asked = state.input
    setStatus(entry.id, 'sending')
    set({ busy: true, typing: true, notice: null })
    const keep = (failed?: string) => {
      if (failed !== pending) {
        pending = failed
        persist()
      }
    }
    void turn(
      client.reply(id, entry.text),
      () => {
        keep()
        setStatus(entry.id)
      },
      (reply) => reply.invalid ?? isAskedAgain(asked, reply.input),
      (err, partial) => {
        const status = statusOf(err)
        if (status === 404) {
          model.reset()
        } else if (status === 409 || (partial && status)) {
          // Ended meanwhile, another tab answered first, or the turn failed once under way:
          // show what the server has now.
          keep()
          resume(id, true)
        } else if (partial) {
          // Cut off under way: the server finishes the turn; "Try again" loads it.
          set({ phase: 'error', notice: describe(err) })
        } else {
          setStatus(entry.id, 'failed')
          keep(entry.text)
        }
      },
    )
  }

  function show(open: boolean) {
    if (open === state.open) return
    // Unread messages are read once the panel opens (and none arrive while it is open).
    set({ open, unread: 0 })
    persist()
    if (open && state.phase === 'idle') start()
  }

  const model: ChatModel = {
    get: () => state,
    subscribe(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    open: () => show(true),
    close: () => show(false),
    toggle: () => show(!state.open),
    reset() {
      epoch++
      conversationId = null
      pending = undefined
      persist()
      set({ ...INITIAL, open: state.open })
      if (state.open) start()
    },
    send(text) {
      const value = text.trim()
      if (!value || state.busy || state.phase !== 'ready' || state.ended) return false
      // A new answer replaces one that could not be sent.
      const entry = item('user', value)
      set({ items: [...state.items.filter((it) => it.status !== 'failed'), entry], invalid: false })
      deliver(entry)
      return true
    },
    retry(itemId) {
      const entry = state.items.find((it) => it.id === itemId && it.status === 'failed')
      if (entry && !state.busy) deliver(entry)
    },
    reconnect() {
      if (state.phase !== 'error') return
      if (conversationId) resume(conversationId)
      else start()
    },
    dispose() {
      epoch++
      listeners.clear()
    },
  }

  if (conversationId) resume(conversationId)
  if (saved.open) model.open()
  return model
}

/**
 * The contract has no flag for a refused answer: the server shows its retry prompt and asks
 * the same thing again. A free-text question accepts anything, so only a typed or multiple
 * choice question asked again twice in a row counts.
 */
function isAskedAgain(asked: Input | null, next: Input | null): boolean {
  if (!asked || !next || asked.type !== next.type || asked.type === 'text') return false
  const labels = (input: Input) => (input.choices ?? []).map((c) => c.label).join('\n')
  return asked.placeholder === next.placeholder && labels(asked) === labels(next)
}

/** The HTTP status of a failed call; 0 when it got no answer. */
const statusOf = (err: unknown) => (err instanceof ChatApiError ? err.status : 0)

/** The line for the visitor when a call failed; a 404 on start means no such bot. */
function describe(err: unknown, starting?: boolean): string {
  const status = statusOf(err)
  if (status === 404 && starting) return 'This chat is not available.'
  if (status === 429) return 'Too many requests. Please wait a moment.'
  return 'Could not reach the chat.'
}
