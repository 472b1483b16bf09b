import { describe, expect, it } from 'vitest'
import type { ConversationView, Input, Reply, StartReply } from '../src/api.ts'
import { ChatApiError, type ChatClient } from '../src/client.ts'
import { type ChatModel, createChatModel } from '../src/model.ts'
import { memorySession } from '../src/session.ts'

const text = (label: string, delay?: number) => ({ type: 'text', delay, elements: [{ label }] })
const email: Input = { type: 'email' }
const phone: Input = { type: 'phone' }

/** A scripted server: each call takes the next queued answer (a value, or an error to throw). */
function scriptedClient() {
  const calls: string[] = []
  const answers: Array<StartReply | Reply | ConversationView | ChatApiError> = []
  const next = async <T>(call: string): Promise<T> => {
    calls.push(call)
    const answer = answers.shift()
    if (!answer) throw new Error(`no scripted answer for ${call}`)
    if (answer instanceof ChatApiError) throw answer
    return answer as T
  }
  const client: ChatClient = {
    start: (bot, variables) => next(`start ${bot} ${JSON.stringify(variables ?? {})}`),
    reply: (id, value) => next(`reply ${id} ${value}`),
    get: (id) => next(`get ${id}`),
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
