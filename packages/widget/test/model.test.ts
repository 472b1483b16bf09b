import { describe, expect, it } from 'vitest'
import type { ConversationView, Input, Reply, StartReply } from '../src/api.ts'
import { ChatApiError, type ChatClient, type TurnEvent } from '../src/client.ts'
import { type ChatModel, createChatModel } from '../src/model.ts'
import { memorySession } from '../src/session.ts'

const text = (label: string, delay?: number) => ({ type: 'text', delay, elements: [{ label }] })
const email: Input = { type: 'email' }
const phone: Input = { type: 'phone' }

/** A turn the server streams: its events, in order, each when the test releases it. */
class ScriptedStream {
  readonly events: Array<TurnEvent<StartReply | Reply> | ChatApiError> = []
  private wake = () => {}
  push(...events: Array<TurnEvent<StartReply | Reply> | ChatApiError>) {
    this.events.push(...events)
    this.wake()
  }
  async *[Symbol.asyncIterator](): AsyncGenerator<TurnEvent<never>> {
    for (;;) {
      const event = this.events.shift()
      if (!event) {
        await new Promise<void>((resolve) => {
          this.wake = resolve
        })
        continue
      }
      if (event instanceof ChatApiError) throw event
      yield event as TurnEvent<never>
      if (event[0] === 'done') return
    }
  }
}

type Answer = StartReply | Reply | ConversationView | ChatApiError | ScriptedStream

/**
 * A scripted server: each call takes the next queued answer: a value (a JSON answer), an error
 * to throw, or a stream.
 */
function scriptedClient() {
  const calls: string[] = []
  const answers: Answer[] = []
  const next = (call: string): Answer => {
    calls.push(call)
    const answer = answers.shift()
    if (!answer) throw new Error(`no scripted answer for ${call}`)
    return answer
  }
  // A JSON answer is one `done` with its responses, as the fetch client gives it.
  async function* turn(call: string): AsyncGenerator<TurnEvent<never>> {
    const answer = next(call)
    if (answer instanceof ChatApiError) throw answer
    if (answer instanceof ScriptedStream) yield* answer
    else yield ['done', answer as never]
  }
  const client: ChatClient = {
    start: (bot, variables) => turn(`start ${bot} ${JSON.stringify(variables ?? {})}`),
    reply: (id, value) => turn(`reply ${id} ${value}`),
    get: async (id) => {
      const answer = next(`get ${id}`)
      if (answer instanceof ChatApiError) throw answer
      return answer as ConversationView
    },
  }
  return { client, calls, answers }
}

/** Typing delays that advance only when the test says so. */
function manualClock() {
  const pending: Array<{ ms: number; resolve: () => void }> = []
  return {
    pending,
    wait: (ms: number) => new Promise<void>((resolve) => pending.push({ ms, resolve })),
    async tick() {
      pending.shift()?.resolve()
      await settle()
    },
  }
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0))
const texts = (model: ChatModel) => model.get().items.map((i) => `${i.from}: ${i.text}`)

describe('chat model', () => {
  it('starts a conversation on first open, not before, and shows messages after their delays', async () => {
    const { client, calls, answers } = scriptedClient()
    const clock = manualClock()
    const session = memorySession()
    const model = createChatModel({ client, bot: 'lead-gen', session, wait: clock.wait })
    await settle()
    expect(calls).toEqual([])

    answers.push({
      conversationId: 'c1',
      responses: [text('Hello!'), text('One moment…', 800), text('What is your email?', 400)],
      input: email,
      ended: false,
    })
    model.open()
    await settle()
    expect(calls).toEqual(['start lead-gen {}'])
    expect(session.load()).toEqual({ conversationId: 'c1', open: true })
    expect(texts(model)).toEqual(['bot: Hello!'])
    expect(model.get()).toMatchObject({ typing: true, busy: true, input: null })
    expect(clock.pending.map((p) => p.ms)).toEqual([800])

    await clock.tick()
    expect(texts(model)).toEqual(['bot: Hello!', 'bot: One moment…'])
    expect(model.get().typing).toBe(true)
    await clock.tick()
    expect(texts(model)).toEqual(['bot: Hello!', 'bot: One moment…', 'bot: What is your email?'])
    expect(model.get()).toMatchObject({ typing: false, busy: false, input: email })
  })

  it('sends answers, flags an answer asked again as invalid, and clears the flag once accepted', async () => {
    const { client, calls, answers } = scriptedClient()
    const model = createChatModel({ client, bot: 'b', session: memorySession() })
    answers.push({ conversationId: 'c1', responses: [text('Email?')], input: email, ended: false })
    model.open()
    await settle()

    answers.push({
      responses: [text('That does not look like an email.')],
      input: email,
      ended: false,
    })
    expect(model.send('  not-an-email ')).toBe(true)
    expect(model.get().items.at(-1)).toMatchObject({
      from: 'user',
      text: 'not-an-email',
      status: 'sending',
    })
    await settle()
    expect(calls.at(-1)).toBe('reply c1 not-an-email')
    expect(model.get().invalid).toBe(true)

    answers.push({ responses: [text('Phone?')], input: phone, ended: false })
    model.send('ann@example.com')
    await settle()
    expect(model.get()).toMatchObject({ invalid: false, input: phone })
    expect(texts(model)).toEqual([
      'bot: Email?',
      'user: not-an-email',
      'bot: That does not look like an email.',
      'user: ann@example.com',
      'bot: Phone?',
    ])
    expect(model.get().items.every((i) => i.status === undefined)).toBe(true)
  })

  it('keeps a reply that failed (network, 429, 5xx) with a retry that sends the same text', async () => {
    const { client, calls, answers } = scriptedClient()
    const model = createChatModel({ client, bot: 'b', session: memorySession() })
    answers.push({ conversationId: 'c1', responses: [text('Email?')], input: email, ended: false })
    model.open()
    await settle()

    for (const failure of [
      new ChatApiError(0, 'network', 'offline'),
      new ChatApiError(429, 'rate_limited', 'slow down'),
      new ChatApiError(503, 'http', 'unavailable'),
    ]) {
      answers.push(failure)
      const failed = model.get().items.find((i) => i.status === 'failed')
      if (failed) model.retry(failed.id)
      else model.send('ann@example.com')
      await settle()
      expect(model.get().items.at(-1)).toMatchObject({ text: 'ann@example.com', status: 'failed' })
      expect(model.get().busy).toBe(false)
    }

    answers.push({ responses: [text('Thanks!')], input: null, ended: true })
    model.retry(model.get().items.at(-1)!.id)
    await settle()
    expect(calls.filter((c) => c.startsWith('reply'))).toEqual(
      Array(4).fill('reply c1 ann@example.com'),
    )
    expect(texts(model)).toEqual(['bot: Email?', 'user: ann@example.com', 'bot: Thanks!'])
    expect(model.get()).toMatchObject({ ended: true, input: null })
  })

  it('a new answer replaces one that could not be sent', async () => {
    const { client, answers } = scriptedClient()
    const model = createChatModel({ client, bot: 'b', session: memorySession() })
    answers.push({
      conversationId: 'c1',
      responses: [text('Name?')],
      input: { type: 'text' },
      ended: false,
    })
    model.open()
    await settle()
    answers.push(new ChatApiError(0, 'network', 'offline'))
    model.send('Ann')
    await settle()
    answers.push({ responses: [text('Hi Anna')], input: null, ended: true })
    model.send('Anna')
    await settle()
    expect(texts(model)).toEqual(['bot: Name?', 'user: Anna', 'bot: Hi Anna'])
  })

  it('on 409 (ended meanwhile) shows what the server has, ended', async () => {
    const { client, calls, answers } = scriptedClient()
    const model = createChatModel({ client, bot: 'b', session: memorySession() })
    answers.push({
      conversationId: 'c1',
      responses: [text('Name?')],
      input: { type: 'text' },
      ended: false,
    })
    model.open()
    await settle()
    answers.push(new ChatApiError(409, 'ended', 'conversation ended'))
    answers.push({
      conversationId: 'c1',
      botId: 'b',
      messages: [
        { from: 'bot', text: 'Name?' },
        { from: 'user', text: 'Bob' },
        { from: 'bot', text: 'Bye Bob' },
      ],
      input: null,
      ended: true,
    })
    model.send('Ann')
    await settle()
    expect(calls.slice(-2)).toEqual(['reply c1 Ann', 'get c1'])
    expect(texts(model)).toEqual(['bot: Name?', 'user: Bob', 'bot: Bye Bob'])
    expect(model.get()).toMatchObject({ ended: true, notice: 'This conversation has ended.' })
  })

  it('resumes a stored conversation, and starts afresh when the server does not know it', async () => {
    const { client, calls, answers } = scriptedClient()
    answers.push({
      conversationId: 'old',
      botId: 'b',
      messages: [
        { from: 'bot', text: 'Email?' },
        { from: 'user', text: 'x' },
      ],
      input: email,
      ended: false,
    })
    const resumed = createChatModel({
      client,
      bot: 'b',
      session: memorySession({ conversationId: 'old', open: true }),
    })
    await settle()
    expect(calls).toEqual(['get old'])
    expect(resumed.get()).toMatchObject({ open: true, phase: 'ready', input: email })
    expect(texts(resumed)).toEqual(['bot: Email?', 'user: x'])

    const session = memorySession({ conversationId: 'gone', open: true })
    answers.push(new ChatApiError(404, 'not_found', 'unknown conversation'))
    answers.push({ conversationId: 'new', responses: [text('Hello')], input: null, ended: true })
    const fresh = createChatModel({ client, bot: 'b', session })
    await settle()
    expect(calls.slice(1)).toEqual(['get gone', 'start b {}'])
    expect(texts(fresh)).toEqual(['bot: Hello'])
    expect(session.load()).toEqual({ conversationId: 'new', open: true })
  })

  it('counts unread bot messages while closed', async () => {
    const { client, answers } = scriptedClient()
    const clock = manualClock()
    const model = createChatModel({ client, bot: 'b', session: memorySession(), wait: clock.wait })
    answers.push({
      conversationId: 'c1',
      responses: [text('One'), text('Two', 500), text('Three', 500)],
      input: null,
      ended: true,
    })
    model.open()
    await settle()
    model.close()
    await clock.tick()
    await clock.tick()
    expect(model.get().unread).toBe(2)
    model.open()
    expect(model.get().unread).toBe(0)
  })

  it('reset forgets the conversation and drops late answers of the old one', async () => {
    const { client, calls, answers } = scriptedClient()
    const clock = manualClock()
    const session = memorySession()
    const model = createChatModel({ client, bot: 'b', session, wait: clock.wait })
    answers.push({
      conversationId: 'c1',
      responses: [text('Old', 1000)],
      input: null,
      ended: false,
    })
    model.open()
    await settle()
    answers.push({ conversationId: 'c2', responses: [text('New')], input: email, ended: false })
    model.reset()
    await settle()
    await clock.tick() // the old conversation's delay ends: nothing of it may appear
    expect(calls).toEqual(['start b {}', 'start b {}'])
    expect(texts(model)).toEqual(['bot: New'])
    expect(session.load().conversationId).toBe('c2')
  })

  it('reports a failed start and tries again on reconnect', async () => {
    const { client, answers } = scriptedClient()
    const model = createChatModel({ client, bot: 'nope', session: memorySession() })
    answers.push(new ChatApiError(404, 'not_found', 'unknown bot'))
    model.open()
    await settle()
    expect(model.get()).toMatchObject({ phase: 'error', notice: 'This chat is not available.' })
    answers.push({ conversationId: 'c1', responses: [text('Hi')], input: null, ended: true })
    model.reconnect()
    await settle()
    expect(model.get()).toMatchObject({ phase: 'ready', notice: null })
  })
})

describe('chat model, streamed turns', () => {
  const started = async () => {
    const { client, calls, answers } = scriptedClient()
    const clock = manualClock()
    const session = memorySession()
    const model = createChatModel({ client, bot: 'b', session, wait: clock.wait })
    answers.push({ conversationId: 'c1', responses: [text('Order?')], input: null, ended: false })
    model.open()
    await settle()
    return { model, calls, answers, clock, session }
  }

  it('shows each instruction as it arrives, with its delay, typing on until done', async () => {
    const { model, answers, clock } = await started()
    const stream = new ScriptedStream()
    answers.push(stream)
    model.send('A-1')
    await settle()
    expect(model.get()).toMatchObject({ typing: true, busy: true })

    stream.push(['instruction', text('Let me check your order…')])
    await settle()
    expect(texts(model)).toEqual(['bot: Order?', 'user: A-1', 'bot: Let me check your order…'])
    // The server is still at work (a slow webhook): the indicator stays, answers wait.
    expect(model.get()).toMatchObject({ typing: true, busy: true })
    expect(model.get().items[1]?.status).toBeUndefined()

    stream.push(
      ['instruction', text('It ships today.', 800)],
      ['instruction', text('Anything else?')],
    )
    await settle()
    expect(texts(model).at(-1)).toBe('bot: Let me check your order…')
    expect(clock.pending.map((p) => p.ms)).toEqual([800])
    await clock.tick()
    expect(texts(model).slice(-2)).toEqual(['bot: It ships today.', 'bot: Anything else?'])
    expect(model.get()).toMatchObject({ typing: true, busy: true, input: null })

    stream.push(['done', { responses: [], input: email, ended: false } as Reply])
    await settle()
    expect(model.get()).toMatchObject({ typing: false, busy: false, input: email })
    expect(texts(model)).toHaveLength(5)
  })

  it('starts a conversation from a stream and keeps its id from done', async () => {
    const { client, answers } = scriptedClient()
    const session = memorySession()
    const model = createChatModel({ client, bot: 'b', session })
    const stream = new ScriptedStream()
    answers.push(stream)
    model.open()
    stream.push(['instruction', text('Hello')])
    await settle()
    expect(model.get()).toMatchObject({ phase: 'ready', busy: true })
    expect(texts(model)).toEqual(['bot: Hello'])
    expect(session.load().conversationId).toBeNull()
    stream.push(['done', { conversationId: 'c9', responses: [], input: email, ended: false }])
    await settle()
    expect(session.load().conversationId).toBe('c9')
    expect(model.get()).toMatchObject({ busy: false, input: email })
  })

  it('grows a draft from deltas that the message replaces, with no typing wait after it', async () => {
    const { model, answers, clock } = await started()
    const stream = new ScriptedStream()
    answers.push(stream)
    model.send('Tell me more')
    stream.push(['delta', { text: 'Our plans ' }], ['delta', { text: 'start at' }])
    await settle()
    expect(model.get().draft).toBe('Our plans start at')
    expect(texts(model)).toEqual(['bot: Order?', 'user: Tell me more'])
    stream.push(['instruction', text('Our plans start at 9 €.', 1500)])
    await settle()
    expect(clock.pending).toEqual([])
    expect(model.get().draft).toBeNull()
    expect(texts(model).at(-1)).toBe('bot: Our plans start at 9 €.')
    stream.push(['done', { responses: [], input: email, ended: false } as Reply])
    await settle()
    expect(model.get()).toMatchObject({ draft: null, typing: false, busy: false })
  })

  it('a stream cut off under way keeps what came and offers to load the rest', async () => {
    const { model, calls, answers, session } = await started()
    const stream = new ScriptedStream()
    answers.push(stream)
    model.send('A-1')
    stream.push(['instruction', text('Let me check…')], new ChatApiError(0, 'network', 'cut off'))
    await settle()
    expect(texts(model)).toEqual(['bot: Order?', 'user: A-1', 'bot: Let me check…'])
    // Sent, not failed: the server has the answer and finishes the turn without us.
    expect(model.get().items.some((i) => i.status === 'failed')).toBe(false)
    expect(session.load().pending).toBeUndefined()
    expect(model.get()).toMatchObject({
      phase: 'error',
      busy: false,
      typing: false,
      notice: 'Could not reach the chat.',
    })

    answers.push({
      conversationId: 'c1',
      botId: 'b',
      messages: [
        { from: 'bot', text: 'Order?' },
        { from: 'user', text: 'A-1' },
        { from: 'bot', text: 'Let me check…' },
        { from: 'bot', text: 'It ships today.' },
      ],
      input: email,
      ended: false,
    })
    model.reconnect()
    await settle()
    expect(calls.at(-1)).toBe('get c1')
    expect(texts(model)).toEqual([
      'bot: Order?',
      'user: A-1',
      'bot: Let me check…',
      'bot: It ships today.',
    ])
    expect(model.get()).toMatchObject({ phase: 'ready', input: email, notice: null })
  })

  it('an error event after instructions (a conflict) shows what the server has', async () => {
    const { model, calls, answers } = await started()
    const stream = new ScriptedStream()
    answers.push(stream)
    model.send('A-1')
    stream.push(['instruction', text('Let me check…')], new ChatApiError(200, 'conflict', 'x'))
    answers.push({
      conversationId: 'c1',
      botId: 'b',
      messages: [
        { from: 'bot', text: 'Order?' },
        { from: 'user', text: 'B-2' },
        { from: 'bot', text: 'Found B-2.' },
      ],
      input: null,
      ended: true,
    })
    await settle()
    expect(calls.at(-1)).toBe('get c1')
    expect(texts(model)).toEqual(['bot: Order?', 'user: B-2', 'bot: Found B-2.'])
    expect(model.get()).toMatchObject({ ended: true, notice: 'This conversation has ended.' })
  })

  it('a start cut off before its id leaves nothing behind and starts again on reconnect', async () => {
    const { client, calls, answers } = scriptedClient()
    const model = createChatModel({ client, bot: 'b', session: memorySession() })
    const stream = new ScriptedStream()
    answers.push(stream)
    model.open()
    stream.push(['instruction', text('Hello')], new ChatApiError(0, 'network', 'cut off'))
    await settle()
    expect(model.get()).toMatchObject({ phase: 'error', items: [] })
    answers.push({ conversationId: 'c2', responses: [text('Hello')], input: null, ended: true })
    model.reconnect()
    await settle()
    expect(calls).toEqual(['start b {}', 'start b {}'])
    expect(texts(model)).toEqual(['bot: Hello'])
  })

  it('reset drops a stream under way', async () => {
    const { model, answers } = await started()
    const stream = new ScriptedStream()
    answers.push(stream)
    model.send('A-1')
    await settle()
    answers.push({ conversationId: 'c2', responses: [text('New')], input: email, ended: false })
    model.reset()
    await settle()
    stream.push(['instruction', text('Old')], ['done', { responses: [], input: null, ended: true }])
    await settle()
    expect(texts(model)).toEqual(['bot: New'])
    expect(model.get()).toMatchObject({ input: email, ended: false, busy: false })
  })
})
