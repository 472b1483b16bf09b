import {
  type Bot,
  type ConversationState,
  type JsonValue,
  MAX_INLINE_MESSAGES,
  type Model,
  transcriptOf,
  type Webhook,
} from '@joon/core'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { withMessages } from '../../src/store/conversations.js'
import {
  type AttemptRecord,
  type DeliveryRecord,
  type NewDelivery,
  type Store,
  StoreConflictError,
} from '../../src/store/index.js'

export interface StoreFixture {
  store: Store
  cleanup(): Promise<void>
}

const T = 1_700_000_000_000

export function bot(id: string, name = `Bot ${id}`): Bot {
  return {
    id,
    name,
    start: 'welcome',
    blocks: [
      { id: 'welcome', type: 'text', text: 'Hello {{name}}', next: 'hook' },
      { id: 'hook', type: 'webhook', webhook: 'crm', async: true },
    ],
  }
}

export function webhook(name: string, url = `https://example.com/${name}`): Webhook {
  return { name, url, headers: { 'X-Api-Key': 'abc' }, secret: 'whsec_x', timeoutMs: 10_000 }
}

export function state(botId: string, context: [string, JsonValue][] = []): ConversationState {
  return {
    v: 1,
    botId,
    at: 'ask',
    waiting: 'input',
    ended: false,
    context,
    messages: [{ from: 'bot', text: 'What is your email?' }],
    calls: 0,
  }
}

let nextId = 0
/** Ids unique across the run, so stores shared between tests never collide. */
export function uid(prefix: string): string {
  nextId += 1
  return `${prefix}-${process.pid}-${nextId}-${Math.random().toString(36).slice(2, 8)}`
}

export function asyncDelivery(
  webhookName: string,
  conversationId: string,
  createdAt = T,
  extra: Partial<NewDelivery> = {},
): NewDelivery {
  return {
    id: uid('dlv'),
    webhook: webhookName,
    conversationId,
    async: true,
    body: JSON.stringify({ email: 'a@example.com', conversation: 'Bot: hi\n' }),
    createdAt,
    ...extra,
  }
}

function attempt(at: number, status: number | null, error: string | null = null): AttemptRecord {
  return { at, status, durationMs: 12, error }
}

/**
 * The behaviour every `Store` must have. Each test gets a fresh, empty store from
 * `makeStore` and hands it back through `cleanup`.
 */
export function describeStoreConformance(
  name: string,
  makeStore: () => Promise<StoreFixture>,
): void {
  describe(`Store conformance: ${name}`, () => {
    let fixture: StoreFixture
    let store: Store

    beforeEach(async () => {
      fixture = await makeStore()
      store = fixture.store
    })
    afterEach(async () => {
      await fixture.cleanup()
    })

    /** A conversation with the given outbox; returns its id. */
    async function conversation(outbox: NewDelivery[] = [], now = T): Promise<string> {
      const id = uid('conv')
      await store.createConversation(
        { id, botId: 'lead-gen', state: state('lead-gen'), now },
        outbox,
      )
      return id
    }

    describe('bots', () => {
      it('puts, reports created then updated, gets, lists by id and deletes', async () => {
        expect(await store.putBot(bot('b-2'))).toEqual({ created: true, version: 1 })
        expect(await store.putBot(bot('a-1'))).toEqual({ created: true, version: 1 })
        expect(await store.putBot(bot('b-2', 'Renamed'))).toEqual({ created: false, version: 2 })
        expect(await store.getBot('b-2')).toEqual(bot('b-2', 'Renamed'))
        expect(await store.getBot('missing')).toBeNull()
        expect((await store.listBots()).map((b) => b.id)).toEqual(['a-1', 'b-2'])
        expect(await store.deleteBot('a-1')).toBe(true)
        expect(await store.deleteBot('a-1')).toBe(false)
        expect(await store.getBot('a-1')).toBeNull()
        expect(await store.listBots()).toEqual([bot('b-2', 'Renamed')])
      })

      it('copies on the way in, and hands out frozen bots nobody can change', async () => {
        const input = bot('copy')
        await store.putBot(input)
        input.name = 'mutated after put'
        const first = await store.getBot('copy')
        expect(first).toEqual(bot('copy'))
        expect(() => {
          first!.blocks.length = 0
        }).toThrow(TypeError)
        expect(() => {
          ;(first!.blocks[0] as { text: string }).text = 'changed'
        }).toThrow(TypeError)
        const [listed] = await store.listBots()
        expect(() => {
          listed!.name = 'mutated after list'
        }).toThrow(TypeError)
        expect(await store.getBot('copy')).toEqual(bot('copy'))
      })

      it('parses a bot once while it is unchanged, and again after a put', async () => {
        await store.putBot(bot('cached'))
        const first = await store.getBot('cached')
        expect(await store.getBot('cached')).toBe(first)
        await store.putBot({ ...bot('cached'), name: 'Renamed' })
        const renamed = await store.getBot('cached')
        expect(renamed).not.toBe(first)
        expect(renamed?.name).toBe('Renamed')
        expect(first?.name).not.toBe('Renamed')
        await store.deleteBot('cached')
        expect(await store.getBot('cached')).toBeNull()
      })

      it('keeps every put as a numbered, immutable version with its source and time', async () => {
        expect(await store.listBotVersions('lead-gen')).toEqual([])
        await store.putBot(bot('lead-gen'), { source: 'file', savedAt: T, file: 'bots/lg.json' })
        await store.putBot(bot('lead-gen', 'Edited'), { source: 'console', savedAt: T + 1 })
        const third = { ...bot('lead-gen', 'Third'), blocks: [bot('x').blocks[1]!] } as Bot
        expect(await store.putBot(third, { source: 'api', savedAt: T + 2 })).toEqual({
          created: false,
          version: 3,
        })
        expect(await store.putBot(bot('other'))).toEqual({ created: true, version: 1 })
        expect(await store.listBotVersions('lead-gen')).toEqual([
          { version: 3, savedAt: T + 2, source: 'api', file: null, blocks: 1 },
          { version: 2, savedAt: T + 1, source: 'console', file: null, blocks: 2 },
          { version: 1, savedAt: T, source: 'file', file: 'bots/lg.json', blocks: 2 },
        ])
        expect(await store.getBot('lead-gen')).toEqual(third)
        expect(await store.getBotVersion('lead-gen', 1)).toEqual(bot('lead-gen'))
        expect(await store.getBotVersion('lead-gen', 2)).toEqual(bot('lead-gen', 'Edited'))
        expect(await store.getBotVersion('lead-gen', 3)).toEqual(third)
        for (const version of [0, 4, -1, 1.5, Number.NaN, 2 ** 31, 2 ** 53]) {
          expect(await store.getBotVersion('lead-gen', version)).toBeNull()
        }
        expect(await store.getBotVersion('other', 2)).toBeNull()
        expect(await store.getBotVersion('missing', 1)).toBeNull()
        // A default put is an API save made now.
        const [latest] = await store.listBotVersions('other')
        expect(latest).toMatchObject({ version: 1, source: 'api', file: null })
        expect(Math.abs(latest!.savedAt - Date.now())).toBeLessThan(60_000)
      })

      it('hands out a version parsed once, frozen and shared while it is hot', async () => {
        await store.putBot(bot('hot'))
        await store.putBot(bot('hot', 'Two'))
        const one = await store.getBotVersion('hot', 1)
        expect(await store.getBotVersion('hot', 1)).toBe(one)
        expect(Object.isFrozen(one)).toBe(true)
        const two = await store.getBot('hot')
        expect(await store.getBotVersion('hot', 2)).toBe(two)
      })

      it('deletes every version, and never reuses a number for a new bot of that id', async () => {
        await store.putBot(bot('gone'))
        await store.putBot(bot('gone', 'Two'))
        expect(await store.getBotVersion('gone', 2)).not.toBeNull()
        expect(await store.deleteBot('gone')).toBe(true)
        expect(await store.getBotVersion('gone', 1)).toBeNull()
        expect(await store.getBotVersion('gone', 2)).toBeNull()
        expect(await store.listBotVersions('gone')).toEqual([])
        expect(await store.putBot(bot('gone', 'Reborn'))).toEqual({ created: true, version: 3 })
        expect(await store.getBotVersion('gone', 2)).toBeNull()
        expect((await store.listBotVersions('gone')).map((v) => v.version)).toEqual([3])
        expect(await store.listBots()).toEqual([bot('gone', 'Reborn')])
      })

      it('numbers racing puts of one bot 1..n with none lost', async () => {
        const results = await Promise.all(
          Array.from({ length: 8 }, (_, i) => store.putBot(bot('race', `N${i}`))),
        )
        expect(results.map((r) => r.version).sort((a, b) => a - b)).toEqual([
          1, 2, 3, 4, 5, 6, 7, 8,
        ])
        expect(results.filter((r) => r.created)).toHaveLength(1)
        const latest = results.find((r) => r.version === 8)!
        const versions = await store.listBotVersions('race')
        expect(versions.map((v) => v.version)).toEqual([8, 7, 6, 5, 4, 3, 2, 1])
        expect(await store.getBot('race')).toEqual(
          await store.getBotVersion('race', latest.version),
        )
      })

      it('keeps ids that are names of Object.prototype members apart', async () => {
        for (const id of ['constructor', 'toString', 'hasOwnProperty', 'valueOf']) {
          expect(await store.getBot(id)).toBeNull()
          expect(await store.deleteBot(id)).toBe(false)
          expect(await store.putBot(bot(id))).toEqual({ created: true, version: 1 })
        }
        expect((await store.listBots()).map((b) => b.id)).toEqual([
          'constructor',
          'hasOwnProperty',
          'toString',
          'valueOf',
        ])
        expect(await store.getBot('constructor')).toEqual(bot('constructor'))
      })
    })

    describe('webhooks', () => {
      it('puts, reports created then updated, gets, lists by name and deletes', async () => {
        expect(await store.putWebhook(webhook('crm'))).toEqual({ created: true })
        expect(await store.putWebhook(webhook('analytics'))).toEqual({ created: true })
        const minimal: Webhook = { name: 'crm', url: 'http://other.example/x', timeoutMs: 500 }
        expect(await store.putWebhook(minimal)).toEqual({ created: false })
        expect(await store.getWebhook('crm')).toEqual(minimal)
        expect(await store.getWebhook('nope')).toBeNull()
        expect((await store.listWebhooks()).map((w) => w.name)).toEqual(['analytics', 'crm'])
        expect(await store.deleteWebhook('crm')).toBe(true)
        expect(await store.deleteWebhook('crm')).toBe(false)
        expect(await store.listWebhooks()).toEqual([webhook('analytics')])
      })

      it('copies on the way in and out', async () => {
        const input = webhook('crm')
        await store.putWebhook(input)
        input.headers!['X-Api-Key'] = 'changed'
        const got = await store.getWebhook('crm')
        got!.headers!['X-Api-Key'] = 'changed too'
        expect(await store.getWebhook('crm')).toEqual(webhook('crm'))
      })

      it('keeps names that are names of Object.prototype members apart', async () => {
        await store.putWebhook(webhook('prototype'))
        await store.putWebhook(webhook('constructor'))
        expect(await store.getWebhook('toString')).toBeNull()
        expect((await store.listWebhooks()).map((w) => w.name)).toEqual([
          'constructor',
          'prototype',
        ])
      })
    })

    describe('models', () => {
      it('puts, reports created then updated, gets, lists in byte order and deletes', async () => {
        const mini: Model = {
          name: 'mini',
          baseUrl: 'https://api.example.com/v1',
          model: 'gpt-mini',
          apiKey: 'sk-123',
          headers: { 'X-Org': 'acme' },
          timeoutMs: 30_000,
          maxTokens: 500,
          temperature: 0.2,
        }
        expect(await store.putModel(mini)).toEqual({ created: true })
        expect(await store.putModel({ ...mini, name: 'Zeta' })).toEqual({ created: true })
        const changed: Model = {
          name: 'mini',
          baseUrl: 'http://ollama:11434/v1',
          model: 'llama3',
          timeoutMs: 5_000,
        }
        expect(await store.putModel(changed)).toEqual({ created: false })
        expect(await store.getModel('mini')).toEqual(changed)
        expect(await store.getModel('nope')).toBeNull()
        expect(await store.getModel('constructor')).toBeNull()
        expect((await store.listModels()).map((m) => m.name)).toEqual(['Zeta', 'mini'])
        expect(await store.deleteModel('mini')).toBe(true)
        expect(await store.deleteModel('mini')).toBe(false)
        expect(await store.listModels()).toEqual([{ ...mini, name: 'Zeta' }])
      })
    })

    describe('conversations', () => {
      it('creates at version 1 and updates with the expected version', async () => {
        const id = uid('conv')
        const s1 = state('lead-gen', [['email', 'a@example.com']])
        await store.createConversation({ id, botId: 'lead-gen', botVersion: 2, state: s1, now: T })
        expect(await store.getConversation(id)).toEqual({
          id,
          botId: 'lead-gen',
          botVersion: 2,
          state: s1,
          version: 1,
          createdAt: T,
          updatedAt: T,
          reached: [],
        })

        const s2: ConversationState = { ...s1, at: null, waiting: null, ended: true }
        expect(
          await store.updateConversation({ id, expectedVersion: 1, state: s2, now: T + 5 }),
        ).toBe(true)
        expect(await store.getConversation(id)).toEqual({
          id,
          botId: 'lead-gen',
          botVersion: 2,
          state: s2,
          version: 2,
          createdAt: T,
          updatedAt: T + 5,
          reached: [],
        })
        expect(await store.getConversation('missing')).toBeNull()
      })

      it('refuses a stale version and an unknown conversation, writing nothing', async () => {
        const id = await conversation()
        const changed = state('lead-gen', [['x', 1]])
        expect(
          await store.updateConversation({ id, expectedVersion: 1, state: changed, now: T + 1 }),
        ).toBe(true)
        const outbox = [asyncDelivery('crm', id)]
        const stale = { id, expectedVersion: 1, state: state('lead-gen', [['x', 2]]), now: T + 2 }
        expect(await store.updateConversation(stale, outbox)).toBe(false)
        expect(
          await store.updateConversation({ ...stale, id: 'missing', expectedVersion: 0 }, outbox),
        ).toBe(false)
        const got = await store.getConversation(id)
        expect(got?.version).toBe(2)
        expect(got?.state).toEqual(changed)
        expect(got?.updatedAt).toBe(T + 1)
        expect(await store.getDelivery(outbox[0]!.id)).toBeNull()
        expect(await store.countDeliveries()).toBe(0)
      })

      it('refuses a second conversation with the same id, and its outbox', async () => {
        const id = await conversation()
        const outbox = [asyncDelivery('crm', id)]
        await expect(
          store.createConversation({ id, botId: 'other', state: state('other'), now: T }, outbox),
        ).rejects.toBeInstanceOf(StoreConflictError)
        expect((await store.getConversation(id))?.botId).toBe('lead-gen')
        expect(await store.countDeliveries()).toBe(0)
      })

      it('lets exactly one of two racing updates win, and only its outbox is saved', async () => {
        for (let round = 0; round < 10; round++) {
          const id = await conversation()
          const a = asyncDelivery('crm', id)
          const b = asyncDelivery('crm', id)
          const results = await Promise.all([
            store.updateConversation(
              { id, expectedVersion: 1, state: state('lead-gen', [['who', 'a']]), now: T + 1 },
              [a],
            ),
            store.updateConversation(
              { id, expectedVersion: 1, state: state('lead-gen', [['who', 'b']]), now: T + 1 },
              [b],
            ),
          ])
          expect(results.filter(Boolean)).toHaveLength(1)
          const winner = results[0] ? a : b
          const loser = results[0] ? b : a
          const got = await store.getConversation(id)
          expect(got?.version).toBe(2)
          expect(got?.state.context).toEqual([['who', results[0] ? 'a' : 'b']])
          expect(await store.getDelivery(winner.id)).not.toBeNull()
          expect(await store.getDelivery(loser.id)).toBeNull()
          expect(await store.listDeliveries({ conversationId: id, limit: 10 })).toHaveLength(1)
        }
      })

      it('copies states on the way in and out', async () => {
        const id = uid('conv')
        const s = state('lead-gen', [['list', [1, 2]]])
        await store.createConversation({ id, botId: 'lead-gen', state: s, now: T })
        s.messages.push({ from: 'user', text: 'mutated' })
        const got = await store.getConversation(id)
        got!.state.context.length = 0
        expect(await store.getConversation(id)).toMatchObject({
          state: state('lead-gen', [['list', [1, 2]]]),
        })
      })

      it('round-trips unicode and a state of about 1 MB', async () => {
        const id = uid('conv')
        const text =
          'Ünïcødé ✓ 日本語 עברית العربية 👩‍👩‍👧‍👦 🎉 \u0000 \u2028\u2029 "quotes" \\ \n\t'
        const big = 'x'.repeat(1024 * 1024)
        const s = state('lead-gen', [
          ['unicode', text],
          ['big', big],
          ['nested', { deep: [{ é: text }, null, true, 1.5, -0.25] }],
        ])
        s.messages.push({ from: 'user', text })
        await store.createConversation({ id, botId: 'lead-gen', state: s, now: T }, [
          asyncDelivery('crm', id, T, { body: JSON.stringify({ text, big }) }),
        ])
        const got = await store.getConversation(id)
        expect(got?.state).toEqual(s)
        const [delivery] = await store.listDeliveries({ conversationId: id, limit: 1 })
        expect(delivery?.body).toBe(JSON.stringify({ text, big }))
        const updated = {
          ...s,
          messages: [...s.messages, { from: 'bot' as const, text: `${text}²` }],
        }
        expect(
          await store.updateConversation({ id, expectedVersion: 1, state: updated, now: T + 1 }),
        ).toBe(true)
        expect((await store.getConversation(id))?.state).toEqual(updated)
      })
    })

    describe('conversations: messages kept apart', () => {
      const said = (n: number, from: 'bot' | 'user' = 'user') => ({ from, text: `Message ${n}` })
      /** A conversation written as turns write it: each reads, steps, and writes the state back. */
      async function talked(turns: number): Promise<{ id: string; all: ConversationState }> {
        const id = uid('conv')
        await store.createConversation({ id, botId: 'lead-gen', state: state('lead-gen'), now: T })
        const all = state('lead-gen')
        for (let turn = 1; turn <= turns; turn++) {
          const found = await store.getConversationWithBot(id)
          const fresh = [said(turn), said(turn, 'bot')]
          const read = found!.record.state
          const next = { ...read, messages: [...read.messages, ...fresh] }
          all.messages.push(...fresh)
          expect(
            await store.updateConversation({
              id,
              expectedVersion: turn,
              state: next,
              now: T + turn,
            }),
          ).toBe(true)
        }
        return { id, all }
      }

      it('keeps a short conversation whole in its state', async () => {
        const { id, all } = await talked(3)
        expect((await store.getConversationWithBot(id))?.record.state).toEqual(all)
        expect(await store.getMessages(id)).toEqual([])
      })

      it("moves a long conversation's older messages apart, counting them in `earlier`", async () => {
        const { id, all } = await talked(40)
        const read = (await store.getConversationWithBot(id))!.record.state
        const apart = read.earlier?.messages ?? 0
        expect(apart).toBeGreaterThan(0)
        expect(read.messages.length).toBeLessThanOrEqual(MAX_INLINE_MESSAGES)
        expect(read.messages).toEqual(all.messages.slice(apart))
        expect(read.earlier?.bytes).toBe(
          new TextEncoder().encode(transcriptOf({ messages: all.messages.slice(0, apart) }))
            .byteLength,
        )
        expect(await store.getMessages(id)).toEqual(all.messages.slice(0, apart))
        expect((await store.getConversation(id))?.state).toEqual(all)
        expect(await store.getMessages('missing')).toEqual([])
      })

      it('replaces the kept messages with those of a state that has no `earlier`', async () => {
        const { id } = await talked(40)
        const whole = { ...state('lead-gen'), messages: [said(9)] }
        expect(
          await store.updateConversation({ id, expectedVersion: 41, state: whole, now: T }),
        ).toBe(true)
        expect(await store.getMessages(id)).toEqual([])
        expect((await store.getConversation(id))?.state).toEqual(whole)
        const long = {
          ...state('lead-gen'),
          messages: Array.from({ length: 70 }, (_, i) => said(i)),
        }
        await store.updateConversation({ id, expectedVersion: 42, state: long, now: T })
        expect((await store.getConversation(id))?.state).toEqual(long)
      })

      it('moves nothing for a refused update, and only the winner of a race', async () => {
        const { id, all } = await talked(30)
        const found = await store.getConversationWithBot(id)
        const read = found!.record.state
        const turn = (n: number) => ({
          ...read,
          messages: [...read.messages, ...Array.from({ length: 10 }, () => said(n))],
        })
        const results = await Promise.all([
          store.updateConversation({ id, expectedVersion: 31, state: turn(5), now: T }),
          store.updateConversation({ id, expectedVersion: 31, state: turn(6), now: T }),
          store.updateConversation({ id, expectedVersion: 30, state: turn(7), now: T }),
        ])
        expect(results.filter(Boolean)).toHaveLength(1)
        const winner = results[0] ? 5 : 6
        expect((await store.getConversation(id))?.state.messages).toEqual([
          ...all.messages,
          ...Array.from({ length: 10 }, () => said(winner)),
        ])
      })

      it('keeps any text, finds a conversation by a kept message, and deletes them with it', async () => {
        const id = uid('conv')
        const odd = 'Zebra\u0000 "quoted" \\ ✓ 👩‍👩‍👧 \u2028'
        const long = {
          ...state('lead-gen'),
          messages: [
            { from: 'user' as const, text: odd },
            ...Array.from({ length: 70 }, (_, i) => said(i)),
          ],
        }
        await store.createConversation({ id, botId: 'lead-gen', state: long, now: T })
        expect((await store.getMessages(id))[0]?.text).toBe(odd)
        for (const q of ['zebra', 'ZEBRA', '✓', 'message 69']) {
          const page = await store.listConversations({ q, limit: 10 })
          const listed = page.conversations.find((c) => c.id === id)
          expect(listed?.state).toEqual(long)
        }
        expect(await store.deleteConversation(id)).toBe(true)
        expect(await store.getMessages(id)).toEqual([])
      })

      it('shows a read the messages of its own version only', async () => {
        const { id } = await talked(40)
        const before = (await store.getConversationWithBot(id))!.record.state
        const next = {
          ...before,
          messages: [...before.messages, ...Array.from({ length: 40 }, (_, i) => said(i))],
        }
        await store.updateConversation({ id, expectedVersion: 41, state: next, now: T })
        // The state read before the turn, with the messages read after it: the turn's are not its.
        const shown = withMessages(before, await store.getMessages(id))
        expect(shown.messages).toHaveLength(81)
      })
    })

    describe('conversations: bot versions and the live index', () => {
      function waitingAt(at: string): ConversationState {
        return { ...state('lead-gen'), at }
      }

      it('keeps the version a conversation started on, and null when none was given', async () => {
        await store.createConversation({
          id: 'pinned',
          botId: 'lead-gen',
          botVersion: 3,
          state: state('lead-gen'),
          now: T,
        })
        await store.createConversation({
          id: 'loose',
          botId: 'lead-gen',
          state: state('lead-gen'),
          now: T,
        })
        expect(await store.getConversation('pinned')).toMatchObject({ botVersion: 3 })
        expect(await store.getConversation('loose')).toMatchObject({ botVersion: null })
        await store.updateConversation({
          id: 'pinned',
          expectedVersion: 1,
          state: waitingAt('ask-phone'),
          now: T + 1,
        })
        expect(await store.getConversation('pinned')).toMatchObject({ botVersion: 3, version: 2 })
      })

      it('reads a conversation with the version it runs on, the latest when not pinned', async () => {
        await store.putBot(bot('lead-gen', 'First'))
        await store.putBot(bot('lead-gen', 'Second'))
        const create = (id: string, botVersion?: number) =>
          store.createConversation({
            id,
            botId: 'lead-gen',
            ...(botVersion ? { botVersion } : {}),
            state: state('lead-gen'),
            now: T,
          })
        await create('on-1', 1)
        await create('loose')
        await create('on-9', 9)
        const first = await store.getConversationWithBot('on-1')
        expect(first?.record).toEqual(await store.getConversation('on-1'))
        expect(first?.bot?.name).toBe('First')
        expect((await store.getConversationWithBot('loose'))?.bot?.name).toBe('Second')
        expect(await store.getConversationWithBot('on-9')).toMatchObject({ bot: null })
        expect(await store.getConversationWithBot('missing')).toBeNull()
        await store.deleteBot('lead-gen')
        expect(await store.getConversationWithBot('on-1')).toMatchObject({ bot: null })
        expect(await store.getConversationWithBot('loose')).toMatchObject({ bot: null })
      })

      it('gives calls made at once each their own outcome, as if made alone', async () => {
        await store.putBot(bot('lead-gen'))
        const ids = Array.from({ length: 6 }, () => uid('conv'))
        const taken = await conversation()
        // Six creates and a duplicate at once: the duplicate alone fails, with its outbox.
        const duplicateOutbox = [asyncDelivery('crm', taken)]
        const created = await Promise.allSettled([
          ...ids.map((id) =>
            store.createConversation({ id, botId: 'lead-gen', state: state('lead-gen'), now: T }, [
              asyncDelivery('crm', id),
            ]),
          ),
          store.createConversation(
            { id: taken, botId: 'other', state: state('other'), now: T },
            duplicateOutbox,
          ),
        ])
        expect(created.map((result) => result.status)).toEqual([
          ...ids.map(() => 'fulfilled'),
          'rejected',
        ])
        expect(await store.getDelivery(duplicateOutbox[0]!.id)).toBeNull()
        expect(await store.countDeliveries()).toBe(6)
        // Reads and updates at once, two racing on one conversation: one of those two wins.
        const read = await Promise.all(
          [...ids, 'missing'].map((id) => store.getConversationWithBot(id)),
        )
        expect(read.map((found) => found?.record.id ?? null)).toEqual([...ids, null])
        expect(read.every((found, i) => i === ids.length || found?.bot?.id === 'lead-gen')).toBe(
          true,
        )
        const update = (id: string, key: string) =>
          store.updateConversation(
            { id, expectedVersion: 1, state: state('lead-gen', [[key, 1]]), now: T + 1 },
            [asyncDelivery('crm', id)],
          )
        const saved = await Promise.all([...ids.map((id) => update(id, 'a')), update(ids[0]!, 'b')])
        expect(saved.slice(1, ids.length)).toEqual(ids.slice(1).map(() => true))
        expect(saved[0]! !== saved[ids.length]!).toBe(true)
        expect(await store.countDeliveries()).toBe(12)
        const winner = saved[0] ? 'a' : 'b'
        expect((await store.getConversation(ids[0]!))?.state.context).toEqual([[winner, 1]])
      })

      it('counts live conversations by block and version, dropping the ended ones', async () => {
        expect(await store.countLiveConversations('lead-gen')).toEqual({
          live: 0,
          byBlock: {},
          byVersion: {},
        })
        const create = (id: string, botVersion: number, at: string, botId = 'lead-gen') =>
          store.createConversation({ id, botId, botVersion, state: waitingAt(at), now: T })
        await create('l1', 1, 'welcome')
        await create('l2', 1, 'ask-email')
        await create('l3', 2, 'ask-email')
        await create('l4', 2, 'constructor')
        await create('l5', 10, 'ask-phone')
        await create('x1', 1, 'ask-email', 'other-bot')
        const ended: ConversationState = {
          ...state('lead-gen'),
          at: null,
          waiting: null,
          ended: true,
        }
        await store.updateConversation({ id: 'l5', expectedVersion: 1, state: ended, now: T + 1 })
        await store.updateConversation({
          id: 'l1',
          expectedVersion: 1,
          state: waitingAt('ask-phone'),
          now: T + 1,
        })
        await store.createConversation({
          id: 'done',
          botId: 'lead-gen',
          botVersion: 1,
          state: ended,
          now: T,
        })
        const live = await store.countLiveConversations('lead-gen')
        expect(live).toEqual({
          live: 4,
          byBlock: { 'ask-email': 2, 'ask-phone': 1, constructor: 1 },
          byVersion: { '1': 2, '2': 2 },
        })
        expect(Object.keys(live.byBlock)).toEqual(['ask-email', 'ask-phone', 'constructor'])
        expect(await store.countLiveConversations('other-bot')).toMatchObject({ live: 1 })
        expect(await store.countLiveConversations('\u0000')).toMatchObject({ live: 0 })
      })
    })

    describe('__proto__ and friends', () => {
      const hostile =
        '{"__proto__": {"polluted": "yes"}, "constructor": {"prototype": {"polluted": "yes"}}, "prototype": 1}'

      afterEach(() => {
        // Nothing may have leaked onto the shared prototype.
        expect(({} as Record<string, unknown>).polluted).toBeUndefined()
        expect(Object.prototype).not.toHaveProperty('polluted')
      })

      it('stores them in states as plain data without polluting anything', async () => {
        const id = uid('conv')
        const value = JSON.parse(hostile) as JsonValue
        const s = state('lead-gen', [
          ['data', value],
          ['__proto__', value],
          ['constructor', 'x'],
        ])
        await store.createConversation({ id, botId: 'lead-gen', state: s, now: T })
        const got = await store.getConversation(id)
        const data = got!.state.context[0]![1] as Record<string, unknown>
        expect(Object.hasOwn(data, '__proto__')).toBe(true)
        expect(Object.getPrototypeOf(data)).toBe(Object.prototype)
        expect(JSON.stringify(got!.state)).toBe(JSON.stringify(s))
      })

      it('stores them in bots and webhooks without polluting anything', async () => {
        const hostileBot = { ...bot('hostile'), ...{ extra: JSON.parse(hostile) } } as Bot
        Object.defineProperty(hostileBot, '__proto__', {
          value: { polluted: 'yes' },
          enumerable: true,
          configurable: true,
          writable: true,
        })
        await store.putBot(hostileBot)
        const gotBot = await store.getBot('hostile')
        expect(Object.getPrototypeOf(gotBot)).toBe(Object.prototype)
        expect(JSON.stringify(gotBot)).toBe(JSON.stringify(hostileBot))

        const hostileHook = {
          ...webhook('crm'),
          headers: JSON.parse('{"__proto__": "x", "constructor": "y", "X-Ok": "1"}'),
        } as Webhook
        await store.putWebhook(hostileHook)
        const [listed] = await store.listWebhooks()
        expect(Object.hasOwn(listed!.headers!, '__proto__')).toBe(true)
        expect(JSON.stringify(listed)).toBe(JSON.stringify(hostileHook))
      })
    })

    describe('ids a client may send', () => {
      it('finds nothing, and never throws, for ids no record can have', async () => {
        await store.putBot(bot('real'))
        for (const id of ['', '\u0000', 'a\u0000b', '%00', '../etc', 'é🎉', 'x'.repeat(10_000)]) {
          expect(await store.getBot(id)).toBeNull()
          expect(await store.getBotVersion(id, 1)).toBeNull()
          expect(await store.listBotVersions(id)).toEqual([])
          expect(await store.deleteBot(id)).toBe(false)
          expect(await store.getWebhook(id)).toBeNull()
          expect(await store.deleteWebhook(id)).toBe(false)
          expect(await store.getConversation(id)).toBeNull()
          expect(
            await store.updateConversation({ id, expectedVersion: 1, state: state('x'), now: T }),
          ).toBe(false)
          expect(await store.getDelivery(id)).toBeNull()
          expect(await store.retryDelivery(id, T)).toBeNull()
          expect(await store.listDeliveries({ webhook: id, limit: 5 })).toEqual([])
          expect(await store.listDeliveries({ conversationId: id, limit: 5 })).toEqual([])
          expect(await store.countDeliveries({ webhook: id })).toBe(0)
          expect(
            await store.completeAttempt({
              id,
              owner: id,
              attempt: attempt(T, 200),
              outcome: { status: 'delivered' },
            }),
          ).toBe(false)
        }
        expect(await store.listBots()).toEqual([bot('real')])
      })
    })

    describe('deliveries: writing', () => {
      it('saves an async outbox delivery as pending and due at its creation', async () => {
        const d = asyncDelivery('crm', 'c', T + 10)
        await conversation([d])
        expect(await store.getDelivery(d.id)).toEqual({
          id: d.id,
          webhook: 'crm',
          conversationId: 'c',
          async: true,
          status: 'pending',
          body: d.body,
          attempts: 0,
          lastStatus: null,
          lastError: null,
          createdAt: T + 10,
          nextAttemptAt: T + 10,
          leaseOwner: null,
          leaseUntil: null,
          history: [],
        })
      })

      it('saves sync calls already finished, in an outbox or on their own', async () => {
        const ok: NewDelivery = {
          ...asyncDelivery('crm', 'c1'),
          async: false,
          status: 'delivered',
          attempt: attempt(T, 200),
        }
        await conversation([ok])
        const failed: NewDelivery = {
          ...asyncDelivery('crm', 'c1', T + 1),
          async: false,
          status: 'failed',
          attempt: attempt(T + 1, null, 'connect ECONNREFUSED'),
        }
        await store.recordDelivery(failed)
        expect(await store.getDelivery(ok.id)).toMatchObject({
          async: false,
          status: 'delivered',
          attempts: 1,
          lastStatus: 200,
          lastError: null,
          nextAttemptAt: null,
          history: [attempt(T, 200)],
        })
        expect(await store.getDelivery(failed.id)).toMatchObject({
          status: 'failed',
          attempts: 1,
          lastStatus: null,
          lastError: 'connect ECONNREFUSED',
          nextAttemptAt: null,
          history: [attempt(T + 1, null, 'connect ECONNREFUSED')],
        })
        expect(await store.nextDueAt()).toBeNull()
        expect(
          await store.leaseDueDeliveries({ now: T + 10, limit: 10, leaseMs: 1000, owner: 'w' }),
        ).toEqual([])
      })

      it('honours a pending delivery created with a later nextAttemptAt', async () => {
        const d = asyncDelivery('crm', 'c', T, { nextAttemptAt: T + 500, attempt: attempt(T, 503) })
        await store.recordDelivery(d)
        expect(await store.getDelivery(d.id)).toMatchObject({
          status: 'pending',
          attempts: 1,
          lastStatus: 503,
          nextAttemptAt: T + 500,
        })
        expect(await store.nextDueAt()).toBe(T + 500)
      })

      it('refuses a duplicate delivery id, and the whole write with it', async () => {
        const d = asyncDelivery('crm', 'c')
        await store.recordDelivery(d)
        await expect(store.recordDelivery({ ...d, body: '{}' })).rejects.toBeInstanceOf(
          StoreConflictError,
        )
        expect((await store.getDelivery(d.id))?.body).toBe(d.body)

        const id = await conversation()
        const fresh = asyncDelivery('crm', id)
        await expect(
          store.updateConversation(
            { id, expectedVersion: 1, state: state('lead-gen', [['x', 1]]), now: T + 1 },
            [fresh, { ...d, conversationId: id }],
          ),
        ).rejects.toBeInstanceOf(StoreConflictError)
        expect((await store.getConversation(id))?.version).toBe(1)
        expect(await store.getDelivery(fresh.id)).toBeNull()

        const twice = asyncDelivery('crm', 'c')
        await expect(conversation([twice, twice])).rejects.toBeInstanceOf(StoreConflictError)
        expect(await store.getDelivery(twice.id)).toBeNull()
        expect(await store.countDeliveries()).toBe(1)
      })

      it('cuts attempt errors to 2 KB of UTF-8 without breaking a character', async () => {
        const long = `${'é'.repeat(1500)}tail`
        const d: NewDelivery = {
          ...asyncDelivery('crm', 'c'),
          async: false,
          status: 'failed',
          attempt: attempt(T, 500, long),
        }
        await store.recordDelivery(d)
        const got = await store.getDelivery(d.id)
        const error = got!.lastError!
        expect(new TextEncoder().encode(error).length).toBeLessThanOrEqual(2048)
        expect(error).toBe('é'.repeat(1024))
        expect(got!.history[0]!.error).toBe(error)
      })
      it('keeps errors readable whatever bytes they quote', async () => {
        const d: NewDelivery = {
          ...asyncDelivery('crm', 'c'),
          async: false,
          status: 'failed',
          attempt: attempt(T, 502, 'bad\u0000gateway \uD800 ok 😀'),
        }
        await store.recordDelivery(d)
        expect((await store.getDelivery(d.id))?.lastError).toBe('bad\uFFFDgateway \uFFFD ok 😀')
      })
    })

    describe('deliveries: leasing', () => {
      it('leases only due deliveries, marks the lease, and not twice', async () => {
        const now = T + 1000
        const due1 = asyncDelivery('crm', 'c', T)
        const due2 = asyncDelivery('crm', 'c', T + 1000)
        const later = asyncDelivery('crm', 'c', T + 1001)
        await conversation([due1, due2, later])
        const leased = await store.leaseDueDeliveries({
          now,
          limit: 10,
          leaseMs: 30_000,
          owner: 'w1',
        })
        expect(leased.map((d) => d.id)).toEqual([due1.id, due2.id])
        for (const d of leased) {
          expect(d).toMatchObject({ status: 'pending', leaseOwner: 'w1', leaseUntil: now + 30_000 })
        }
        expect(await store.getDelivery(due1.id)).toMatchObject({
          leaseOwner: 'w1',
          leaseUntil: now + 30_000,
        })
        expect(
          await store.leaseDueDeliveries({ now, limit: 10, leaseMs: 30_000, owner: 'w2' }),
        ).toEqual([])
        expect(
          (
            await store.leaseDueDeliveries({
              now: now + 1,
              limit: 10,
              leaseMs: 30_000,
              owner: 'w2',
            })
          ).map((d) => d.id),
        ).toEqual([later.id])
      })

      it('respects the limit, oldest due first', async () => {
        const ds = [3, 1, 2, 0].map((i) => asyncDelivery('crm', 'c', T + i))
        await conversation(ds)
        const leased = await store.leaseDueDeliveries({
          now: T + 10,
          limit: 2,
          leaseMs: 1000,
          owner: 'w',
        })
        expect(leased.map((d) => d.createdAt)).toEqual([T, T + 1])
        expect(
          await store.leaseDueDeliveries({ now: T + 10, limit: 0, leaseMs: 1000, owner: 'w' }),
        ).toEqual([])
      })

      it('never hands one delivery to two concurrent leases', async () => {
        const all = Array.from({ length: 60 }, (_, i) => asyncDelivery(`hook-${i % 3}`, 'c', T + i))
        await conversation(all)
        const lease = (owner: string) =>
          store.leaseDueDeliveries({ now: T + 100, limit: 15, leaseMs: 60_000, owner })
        const results = await Promise.all(Array.from({ length: 6 }, (_, w) => lease(`w${w}`)))
        for (const batch of results) expect(batch.length).toBeLessThanOrEqual(15)
        // A lease racing others may come back short (rows being claimed are skipped, not
        // waited for); whatever is left is leased by the next calls.
        for (let more = await lease('late'); more.length > 0; more = await lease('late')) {
          results.push(more)
        }
        const ids = results.flat().map((d) => d.id)
        expect(new Set(ids).size).toBe(ids.length)
        expect(ids).toHaveLength(60)
        for (const batch of results) {
          for (const d of batch) {
            expect((await store.getDelivery(d.id))?.leaseOwner).toBe(d.leaseOwner)
          }
        }
      })

      it('takes a delivery again once its lease expired, and refuses the old owner', async () => {
        const d = asyncDelivery('crm', 'c', T)
        await conversation([d])
        await store.leaseDueDeliveries({ now: T, limit: 1, leaseMs: 1000, owner: 'dead' })
        expect(await store.nextDueAt()).toBe(T + 1000)
        expect(
          await store.leaseDueDeliveries({ now: T + 999, limit: 1, leaseMs: 1000, owner: 'w2' }),
        ).toEqual([])
        const again = await store.leaseDueDeliveries({
          now: T + 1000,
          limit: 1,
          leaseMs: 1000,
          owner: 'w2',
        })
        expect(again.map((x) => [x.id, x.leaseOwner, x.leaseUntil])).toEqual([
          [d.id, 'w2', T + 2000],
        ])
        const done = {
          id: d.id,
          attempt: attempt(T + 1001, 200),
          outcome: { status: 'delivered' } as const,
        }
        expect(await store.completeAttempt({ ...done, owner: 'dead' })).toBe(false)
        expect(await store.getDelivery(d.id)).toMatchObject({
          status: 'pending',
          attempts: 0,
          history: [],
        })
        expect(await store.completeAttempt({ ...done, owner: 'w2' })).toBe(true)
        expect(await store.getDelivery(d.id)).toMatchObject({ status: 'delivered', attempts: 1 })
      })

      it('records outcomes finished at once each as if alone', async () => {
        const ok = asyncDelivery('crm', 'c', T)
        const failing = asyncDelivery('crm', 'c', T + 1)
        const stolen = asyncDelivery('crm', 'c', T + 2)
        await conversation([ok, failing, stolen])
        await store.leaseDueDeliveries({ now: T + 2, limit: 2, leaseMs: 60_000, owner: 'w' })
        await store.leaseDueDeliveries({ now: T + 2, limit: 1, leaseMs: 60_000, owner: 'x' })
        const results = await Promise.all([
          store.completeAttempt({
            id: ok.id,
            owner: 'w',
            attempt: attempt(T + 3, 200),
            outcome: { status: 'delivered' },
          }),
          store.completeAttempt({
            id: failing.id,
            owner: 'w',
            attempt: attempt(T + 3, 503, 'HTTP 503'),
            outcome: { status: 'pending', nextAttemptAt: T + 900 },
          }),
          // The same outcome twice: recorded once.
          store.completeAttempt({
            id: ok.id,
            owner: 'w',
            attempt: attempt(T + 4, 200),
            outcome: { status: 'delivered' },
          }),
          // Not this owner's lease.
          store.completeAttempt({
            id: stolen.id,
            owner: 'w',
            attempt: attempt(T + 3, 200),
            outcome: { status: 'delivered' },
          }),
          store.completeAttempt({
            id: 'no-such-delivery',
            owner: 'w',
            attempt: attempt(T + 3, 200),
            outcome: { status: 'delivered' },
          }),
        ])
        expect(results).toEqual([true, true, false, false, false])
        expect(await store.getDelivery(ok.id)).toMatchObject({
          status: 'delivered',
          attempts: 1,
          history: [attempt(T + 3, 200)],
        })
        expect(await store.getDelivery(failing.id)).toMatchObject({
          status: 'pending',
          attempts: 1,
          lastStatus: 503,
          nextAttemptAt: T + 900,
          leaseOwner: null,
          history: [attempt(T + 3, 503, 'HTTP 503')],
        })
        expect(await store.getDelivery(stolen.id)).toMatchObject({
          status: 'pending',
          attempts: 0,
          leaseOwner: 'x',
        })
      })

      it('releases the leases an owner gives back, and only those', async () => {
        const mine = asyncDelivery('crm', 'c', T)
        const leased = asyncDelivery('crm', 'c', T + 1)
        const other = asyncDelivery('crm', 'c', T + 2)
        const done = asyncDelivery('crm', 'c', T + 3, {
          async: false,
          status: 'delivered',
          attempt: attempt(T, 200),
        })
        await conversation([mine, leased, other, done])
        await store.leaseDueDeliveries({ now: T + 1, limit: 2, leaseMs: 60_000, owner: 'me' })
        await store.leaseDueDeliveries({ now: T + 2, limit: 1, leaseMs: 60_000, owner: 'you' })
        const release = store.releaseLeases?.bind(store)
        if (!release) throw new Error('every store of ours gives leases back')
        expect(await release('me', [mine.id, leased.id, other.id, done.id, 'msg_unknown'])).toBe(2)
        expect(await store.getDelivery(mine.id)).toMatchObject({
          status: 'pending',
          leaseOwner: null,
          leaseUntil: null,
          nextAttemptAt: T,
        })
        expect((await store.getDelivery(other.id))?.leaseOwner).toBe('you')
        expect(await store.nextDueAt()).toBe(T)
        const again = await store.leaseDueDeliveries({
          now: T + 5,
          limit: 5,
          leaseMs: 10,
          owner: 'w',
        })
        expect(again.map((x) => x.id).sort()).toEqual([mine.id, leased.id].sort())
        expect(await release('me', [])).toBe(0)
      })

      it('accepts a late completion when nobody took the expired lease over', async () => {
        const d = asyncDelivery('crm', 'c', T)
        await conversation([d])
        await store.leaseDueDeliveries({ now: T, limit: 1, leaseMs: 10, owner: 'slow' })
        expect(
          await store.completeAttempt({
            id: d.id,
            owner: 'slow',
            attempt: attempt(T + 50, 200),
            outcome: { status: 'delivered' },
          }),
        ).toBe(true)
      })

      it('is fair: a webhook with 1,000 due cannot starve one with 5', async () => {
        const dead = Array.from({ length: 1000 }, (_, i) => asyncDelivery('dead', 'c', T + i))
        const live = Array.from({ length: 5 }, (_, i) => asyncDelivery('live', 'c', T + 2000 + i))
        await conversation([...dead, ...live])
        const now = T + 5000
        const leased = await store.leaseDueDeliveries({ now, limit: 10, leaseMs: 1000, owner: 'w' })
        expect(leased).toHaveLength(10)
        expect(leased.filter((d) => d.webhook === 'live').map((d) => d.id)).toEqual(
          live.map((d) => d.id),
        )
        expect(leased.filter((d) => d.webhook === 'dead').map((d) => d.id)).toEqual(
          dead.slice(0, 5).map((d) => d.id),
        )

        const capped = await store.leaseDueDeliveries({
          now,
          limit: 10,
          leaseMs: 1000,
          owner: 'w',
          perWebhookLimit: 3,
        })
        expect(capped.map((d) => d.webhook)).toEqual(['dead', 'dead', 'dead'])
        expect(capped.map((d) => d.id)).toEqual(dead.slice(5, 8).map((d) => d.id))
      })

      it('leaves out the webhooks the caller asks to skip', async () => {
        const ds = ['a', 'b', 'c'].flatMap((w) => [
          asyncDelivery(w, 'c', T),
          asyncDelivery(w, 'c', T),
        ])
        await conversation(ds)
        const lease = (skipWebhooks?: string[]) =>
          store.leaseDueDeliveries({
            now: T,
            limit: 10,
            leaseMs: 1000,
            owner: 'w',
            ...(skipWebhooks ? { skipWebhooks } : {}),
          })
        const first = await lease(['a', 'c', 'unknown'])
        expect(first.map((d) => d.webhook)).toEqual(['b', 'b'])
        expect((await lease([])).map((d) => d.webhook).sort()).toEqual(['a', 'a', 'c', 'c'])
      })

      it('takes one per webhook per round across many webhooks', async () => {
        const ds = ['a', 'b', 'c'].flatMap((w, i) =>
          Array.from({ length: 4 }, (_, j) => asyncDelivery(w, 'c', T + j * 10 + i)),
        )
        await conversation(ds)
        const leased = await store.leaseDueDeliveries({
          now: T + 100,
          limit: 7,
          leaseMs: 1000,
          owner: 'w',
        })
        const counts = new Map<string, number>()
        for (const d of leased) counts.set(d.webhook, (counts.get(d.webhook) ?? 0) + 1)
        expect([...counts.values()].sort()).toEqual([2, 2, 3])
      })
    })

    describe('webhook health and alerts', () => {
      /** Records a pending delivery of `hook` and leases it (owner `w`). */
      async function leased(hook: string, at: number): Promise<DeliveryRecord> {
        const d = asyncDelivery(hook, 'c', at)
        await store.recordDelivery(d)
        const [record] = await store.leaseDueDeliveries({
          now: at,
          limit: 1,
          leaseMs: 60_000,
          owner: 'w',
          skipWebhooks: ['ops'],
        })
        expect(record?.id).toBe(d.id)
        return record!
      }
      const fail = (record: DeliveryRecord, at: number, final: boolean, alerts = {}) =>
        store.completeAttempt({
          id: record.id,
          owner: 'w',
          attempt: attempt(at, 503, 'HTTP 503'),
          outcome: final ? { status: 'failed' } : { status: 'pending', nextAttemptAt: at + 1 },
          ...alerts,
        })
      const succeed = (record: DeliveryRecord, at: number, alerts = {}) =>
        store.completeAttempt({
          id: record.id,
          owner: 'w',
          attempt: attempt(at, 204),
          outcome: { status: 'delivered' },
          ...alerts,
        })
      const recovery = (id: string, at: number) => ({
        recovered: {
          id,
          webhook: 'ops',
          createdAt: at,
          body: ['{"failedDeliveries":', ',"consecutiveFailures":', '}'] as const,
        },
      })
      const empty = {
        lastSuccessAt: null,
        lastFailureAt: null,
        consecutiveFailures: 0,
        failingSince: null,
        failedDeliveries: 0,
        lastError: null,
      }

      it('keeps one health per registered webhook, listed by name in one read', async () => {
        await store.putWebhook(webhook('crm'))
        await store.putWebhook(webhook('analytics'))
        await store.putWebhook(webhook('crm'))
        expect(await store.listWebhookHealth()).toEqual([
          { webhook: 'analytics', ...empty },
          { webhook: 'crm', ...empty },
        ])
        expect(await store.getWebhookHealth('crm')).toEqual({ webhook: 'crm', ...empty })
        expect(await store.getWebhookHealth('nope')).toBeNull()
        expect(await store.getWebhookHealth('a\0b')).toBeNull()
        await store.deleteWebhook('crm')
        expect((await store.listWebhookHealth()).map((h) => h.webhook)).toEqual(['analytics'])
      })

      it('counts failed attempts and failed deliveries since the last success', async () => {
        await store.putWebhook(webhook('crm'))
        const first = await leased('crm', T)
        expect(await fail(first, T, false)).toBe(true)
        await store.leaseDueDeliveries({ now: T + 10, limit: 1, leaseMs: 60_000, owner: 'w' })
        await fail(first, T + 10, true)
        expect(await store.getWebhookHealth('crm')).toEqual({
          webhook: 'crm',
          lastSuccessAt: null,
          lastFailureAt: T + 10,
          consecutiveFailures: 2,
          failingSince: T,
          failedDeliveries: 1,
          lastError: 'HTTP 503',
        })
        const third = await leased('crm', T + 20)
        await succeed(third, T + 20)
        expect(await store.getWebhookHealth('crm')).toEqual({
          webhook: 'crm',
          lastSuccessAt: T + 20,
          lastFailureAt: T + 10,
          consecutiveFailures: 0,
          failingSince: null,
          failedDeliveries: 0,
          lastError: 'HTTP 503',
        })
        // While nothing fails, the last success moves once a second at most.
        await succeed(await leased('crm', T + 500), T + 500)
        expect((await store.getWebhookHealth('crm'))?.lastSuccessAt).toBe(T + 20)
        await succeed(await leased('crm', T + 1020), T + 1020)
        expect((await store.getWebhookHealth('crm'))?.lastSuccessAt).toBe(T + 1020)
        // An attempt whose lease was lost changes nothing.
        const lost = await leased('crm', T + 2000)
        expect(
          await store.completeAttempt({
            id: lost.id,
            owner: 'someone else',
            attempt: attempt(T + 2000, 500, 'HTTP 500'),
            outcome: { status: 'failed' },
            alerts: { failed: asyncDelivery('ops', '', T + 2000) },
          }),
        ).toBe(false)
        expect((await store.getWebhookHealth('crm'))?.consecutiveFailures).toBe(0)
        expect(await store.countDeliveries({ webhook: 'ops' })).toBe(0)
      })

      it('counts finished synchronous calls; pending records and unknown webhooks count nothing', async () => {
        await store.putWebhook(webhook('crm'))
        const sync = (at: number, ok: boolean) =>
          store.recordDelivery(
            asyncDelivery('crm', 'c', at, {
              async: false,
              status: ok ? 'delivered' : 'failed',
              attempt: attempt(at, ok ? 200 : null, ok ? null : 'timeout'),
            }),
          )
        await store.recordDelivery(asyncDelivery('crm', 'c', T))
        expect(await store.getWebhookHealth('crm')).toEqual({ webhook: 'crm', ...empty })
        await sync(T + 1, false)
        await sync(T + 2, false)
        expect(await store.getWebhookHealth('crm')).toMatchObject({
          consecutiveFailures: 2,
          failedDeliveries: 2,
          failingSince: T + 1,
          lastError: 'timeout',
        })
        await sync(T + 3, true)
        expect(await store.getWebhookHealth('crm')).toMatchObject({
          lastSuccessAt: T + 3,
          consecutiveFailures: 0,
          failedDeliveries: 0,
        })
        await store.recordDelivery(
          asyncDelivery('gone', 'c', T, { status: 'failed', attempt: attempt(T, 500, 'x') }),
        )
        expect(await store.getWebhookHealth('gone')).toBeNull()
      })

      it('writes the failure alert with the final failure only, and the recovery alert with the next success', async () => {
        await store.putWebhook(webhook('crm'))
        await store.putWebhook(webhook('ops'))
        const alertFor = (at: number) => asyncDelivery('ops', '', at, { body: `{"at":${at}}` })
        const first = await leased('crm', T)
        // Not final: no alert even when offered.
        await fail(first, T, false, { alerts: { failed: alertFor(T) } })
        expect(await store.countDeliveries({ webhook: 'ops' })).toBe(0)
        await store.leaseDueDeliveries({ now: T + 1, limit: 1, leaseMs: 60_000, owner: 'w' })
        const failedAlert = alertFor(T + 1)
        await fail(first, T + 1, true, { alerts: { failed: failedAlert } })
        const [written] = await store.listDeliveries({ webhook: 'ops', limit: 10 })
        expect(written).toMatchObject({
          id: failedAlert.id,
          status: 'pending',
          body: failedAlert.body,
          nextAttemptAt: T + 1,
        })
        // A failure and a success recorded at once: the recovery counts both failures.
        const second = await leased('crm', T + 2)
        const third = await leased('crm', T + 3)
        const recoveryId = uid('alert')
        await Promise.all([
          fail(second, T + 2, true),
          succeed(third, T + 3, { alerts: recovery(recoveryId, T + 3) }),
        ])
        const alert = await store.getDelivery(recoveryId)
        expect(alert).toMatchObject({
          webhook: 'ops',
          async: true,
          status: 'pending',
          attempts: 0,
          createdAt: T + 3,
          nextAttemptAt: T + 3,
        })
        expect(JSON.parse(alert!.body)).toEqual({ failedDeliveries: 2, consecutiveFailures: 3 })
        expect(await store.getWebhookHealth('crm')).toMatchObject({
          consecutiveFailures: 0,
          failedDeliveries: 0,
          lastSuccessAt: T + 3,
        })
        // Recovered already: the next success brings no alert.
        const again = uid('alert')
        await succeed(await leased('crm', T + 5000), T + 5000, {
          alerts: recovery(again, T + 5000),
        })
        expect(await store.getDelivery(again)).toBeNull()
        // Failed attempts alone (no delivery failed for good) bring no recovery either.
        const retried = await leased('crm', T + 6000)
        await fail(retried, T + 6000, false)
        await store.leaseDueDeliveries({
          now: T + 6001,
          limit: 1,
          leaseMs: 60_000,
          owner: 'w',
          skipWebhooks: ['ops'],
        })
        const none = uid('alert')
        await succeed(retried, T + 6001, { alerts: recovery(none, T + 6001) })
        expect(await store.getDelivery(none)).toBeNull()
        expect(await store.getWebhookHealth('crm')).toMatchObject({ consecutiveFailures: 0 })
      })

      it('writes alerts with synchronous calls too', async () => {
        await store.putWebhook(webhook('crm'))
        const failedAlert = asyncDelivery('ops', '', T)
        await store.recordDelivery(
          asyncDelivery('crm', 'c', T, {
            async: false,
            status: 'failed',
            attempt: attempt(T, 502, 'HTTP 502'),
          }),
          { failed: failedAlert },
        )
        expect(await store.getDelivery(failedAlert.id)).toMatchObject({ status: 'pending' })
        const id = uid('alert')
        await store.recordDelivery(
          asyncDelivery('crm', 'c', T + 1, {
            async: false,
            status: 'delivered',
            attempt: attempt(T + 1, 200),
          }),
          recovery(id, T + 1),
        )
        expect(JSON.parse((await store.getDelivery(id))!.body)).toEqual({
          failedDeliveries: 1,
          consecutiveFailures: 1,
        })
      })
    })

    describe('deliveries: completing, retrying, listing', () => {
      async function leaseOne(d: NewDelivery, now = d.createdAt): Promise<DeliveryRecord> {
        const [leased] = await store.leaseDueDeliveries({
          now,
          limit: 1,
          leaseMs: 60_000,
          owner: 'w',
        })
        expect(leased?.id).toBe(d.id)
        return leased!
      }

      it('records a retry schedule: pending, pending, then delivered', async () => {
        const d = asyncDelivery('crm', 'c', T)
        await store.recordDelivery(d)
        await leaseOne(d, T)
        expect(
          await store.completeAttempt({
            id: d.id,
            owner: 'w',
            attempt: attempt(T, 500, 'HTTP 500'),
            outcome: { status: 'pending', nextAttemptAt: T + 5000 },
          }),
        ).toBe(true)
        expect(await store.getDelivery(d.id)).toMatchObject({
          status: 'pending',
          attempts: 1,
          lastStatus: 500,
          lastError: 'HTTP 500',
          nextAttemptAt: T + 5000,
          leaseOwner: null,
          leaseUntil: null,
        })
        expect(await store.nextDueAt()).toBe(T + 5000)
        expect(
          await store.leaseDueDeliveries({ now: T + 4999, limit: 1, leaseMs: 1, owner: 'w' }),
        ).toEqual([])
        await leaseOne(d, T + 5000)
        await store.completeAttempt({
          id: d.id,
          owner: 'w',
          attempt: attempt(T + 5000, null, 'timeout'),
          outcome: { status: 'pending', nextAttemptAt: T + 9000 },
        })
        await leaseOne(d, T + 9000)
        expect(
          await store.completeAttempt({
            id: d.id,
            owner: 'w',
            attempt: attempt(T + 9000, 204),
            outcome: { status: 'delivered' },
          }),
        ).toBe(true)
        expect(await store.getDelivery(d.id)).toEqual({
          ...(await store.listDeliveries({ limit: 1 }))[0],
          history: [
            attempt(T, 500, 'HTTP 500'),
            attempt(T + 5000, null, 'timeout'),
            attempt(T + 9000, 204),
          ],
        })
        expect(await store.getDelivery(d.id)).toMatchObject({
          status: 'delivered',
          attempts: 3,
          lastStatus: 204,
          lastError: null,
          nextAttemptAt: null,
          leaseOwner: null,
        })
        expect(await store.nextDueAt()).toBeNull()
        // A second completion of the same lease is refused.
        expect(
          await store.completeAttempt({
            id: d.id,
            owner: 'w',
            attempt: attempt(T + 9001, 200),
            outcome: { status: 'delivered' },
          }),
        ).toBe(false)
        expect(
          await store.completeAttempt({
            id: 'missing',
            owner: 'w',
            attempt: attempt(T, 200),
            outcome: { status: 'delivered' },
          }),
        ).toBe(false)
      })

      it('refuses completion without a lease', async () => {
        const d = asyncDelivery('crm', 'c', T)
        await store.recordDelivery(d)
        expect(
          await store.completeAttempt({
            id: d.id,
            owner: 'w',
            attempt: attempt(T, 200),
            outcome: { status: 'delivered' },
          }),
        ).toBe(false)
      })

      it('retries a failed or delivered delivery, keeping its history', async () => {
        const d = asyncDelivery('crm', 'c', T)
        await store.recordDelivery(d)
        await leaseOne(d, T)
        await store.completeAttempt({
          id: d.id,
          owner: 'w',
          attempt: attempt(T, 410, 'Gone'),
          outcome: { status: 'failed' },
        })
        expect(await store.getDelivery(d.id)).toMatchObject({
          status: 'failed',
          nextAttemptAt: null,
        })
        expect(await store.countDeliveries({ status: 'failed' })).toBe(1)

        const retried = await store.retryDelivery(d.id, T + 100)
        expect(retried).toMatchObject({
          id: d.id,
          status: 'pending',
          attempts: 1,
          lastStatus: 410,
          nextAttemptAt: T + 100,
          leaseOwner: null,
          leaseUntil: null,
        })
        expect(await store.nextDueAt()).toBe(T + 100)
        await leaseOne(d, T + 100)
        await store.completeAttempt({
          id: d.id,
          owner: 'w',
          attempt: attempt(T + 100, 200),
          outcome: { status: 'delivered' },
        })
        expect((await store.getDelivery(d.id))?.history).toHaveLength(2)

        expect((await store.retryDelivery(d.id, T + 200))?.status).toBe('pending')
        expect(await store.retryDelivery('missing', T)).toBeNull()
      })

      it('brings a waiting delivery forward, and leaves one in flight alone', async () => {
        const waiting = asyncDelivery('crm', 'c', T, { nextAttemptAt: T + 60_000 })
        const inFlight = asyncDelivery('other', 'c', T)
        await store.recordDelivery(waiting)
        await store.recordDelivery(inFlight)
        await leaseOne(inFlight, T)
        expect(await store.retryDelivery(waiting.id, T + 10)).toMatchObject({
          status: 'pending',
          nextAttemptAt: T + 10,
        })
        expect(await store.retryDelivery(inFlight.id, T + 10)).toMatchObject({
          status: 'pending',
          leaseOwner: 'w',
          leaseUntil: T + 60_000,
        })
        const leased = await store.leaseDueDeliveries({
          now: T + 10,
          limit: 5,
          leaseMs: 1,
          owner: 'x',
        })
        expect(leased.map((x) => x.id)).toEqual([waiting.id])
      })

      it('lists newest first with filters, and counts', async () => {
        const a1 = asyncDelivery('a', 'c1', T + 1)
        const b1 = asyncDelivery('b', 'c1', T + 2)
        const a2 = asyncDelivery('a', 'c2', T + 2)
        const a3: NewDelivery = {
          ...asyncDelivery('a', 'c2', T + 3),
          async: false,
          status: 'failed',
          attempt: attempt(T + 3, 500),
        }
        await conversation([a1, b1])
        await store.recordDelivery(a2)
        await store.recordDelivery(a3)
        const ids = (ds: DeliveryRecord[]) => ds.map((d) => d.id)
        // Same createdAt: the later insert is newer.
        expect(ids(await store.listDeliveries({ limit: 10 }))).toEqual([a3.id, a2.id, b1.id, a1.id])
        expect(ids(await store.listDeliveries({ limit: 2 }))).toEqual([a3.id, a2.id])
        expect(ids(await store.listDeliveries({ webhook: 'a', limit: 10 }))).toEqual([
          a3.id,
          a2.id,
          a1.id,
        ])
        expect(ids(await store.listDeliveries({ status: 'failed', limit: 10 }))).toEqual([a3.id])
        expect(
          ids(await store.listDeliveries({ status: 'pending', webhook: 'a', limit: 10 })),
        ).toEqual([a2.id, a1.id])
        expect(ids(await store.listDeliveries({ conversationId: 'c1', limit: 10 }))).toEqual([
          b1.id,
          a1.id,
        ])
        expect(await store.listDeliveries({ webhook: 'nope', limit: 10 })).toEqual([])
        expect(await store.listDeliveries({ limit: 0 })).toEqual([])
        expect(await store.countDeliveries()).toBe(4)
        expect(await store.countDeliveries({ status: 'pending' })).toBe(3)
        expect(await store.countDeliveries({ status: 'delivered' })).toBe(0)
        expect(await store.countDeliveries({ webhook: 'a' })).toBe(3)
        expect(await store.countDeliveries({ webhook: 'a', status: 'failed' })).toBe(1)
        const [listed] = await store.listDeliveries({ status: 'failed', limit: 1 })
        expect(listed).toEqual({
          id: a3.id,
          webhook: 'a',
          conversationId: 'c2',
          async: false,
          status: 'failed',
          body: a3.body,
          attempts: 1,
          lastStatus: 500,
          lastError: null,
          createdAt: T + 3,
          nextAttemptAt: null,
          leaseOwner: null,
          leaseUntil: null,
        })
      })

      it('reports when the next delivery is due', async () => {
        expect(await store.nextDueAt()).toBeNull()
        await store.recordDelivery(asyncDelivery('a', 'c', T + 50))
        await store.recordDelivery(asyncDelivery('b', 'c', T + 20))
        expect(await store.nextDueAt()).toBe(T + 20)
        await store.leaseDueDeliveries({ now: T + 20, limit: 1, leaseMs: 100, owner: 'w' })
        expect(await store.nextDueAt()).toBe(T + 50)
        await store.leaseDueDeliveries({ now: T + 50, limit: 1, leaseMs: 100, owner: 'w' })
        expect(await store.nextDueAt()).toBe(T + 120)
      })

      it('answers ping', async () => {
        await expect(store.ping()).resolves.toBeUndefined()
      })
    })

    describe('results: listing, funnel, deletion, retention', () => {
      /** A conversation of `botId` started at `at` with the given answers, ended or not. */
      async function lead(
        botId: string,
        at: number,
        context: [string, JsonValue][],
        options: { ended?: boolean; reached?: string[]; waitsAt?: string; text?: string } = {},
      ): Promise<string> {
        const id = uid('lead')
        const base = state(botId, context)
        const s: ConversationState = options.ended
          ? { ...base, at: null, waiting: null, ended: true }
          : { ...base, at: options.waitsAt ?? 'ask' }
        if (options.text) s.messages = [...s.messages, { from: 'user', text: options.text }]
        await store.createConversation({
          id,
          botId,
          state: s,
          now: at,
          ...(options.reached ? { reached: options.reached } : {}),
        })
        return id
      }

      async function allPages(
        query: Omit<Parameters<Store['listConversations']>[0], 'limit'>,
        limit: number,
      ) {
        const ids: string[] = []
        let after = query.after
        for (let pages = 0; pages < 100; pages++) {
          const page = await store.listConversations({
            ...query,
            limit,
            ...(after ? { after } : {}),
          })
          ids.push(...page.conversations.map((c) => c.id))
          if (!page.next) return ids
          after = page.next
        }
        throw new Error('paging never ended')
      }

      it('lists newest first with filters, and pages by cursor without repeats or gaps', async () => {
        const a = await lead('shop', T + 1, [['email', 'a@example.com']])
        const b = await lead('shop', T + 3, [['email', 'b@example.com']], { ended: true })
        const c = await lead('other', T + 2, [])
        const d = await lead('shop', T + 3, [['email', 'd@example.com']])
        const e = await lead('shop', T + 5, [], { ended: true })
        // Same start time: the larger id first.
        const [first, second] = [b, d].sort().reverse()
        expect(await allPages({}, 50)).toEqual([e, first, second, c, a])
        expect(await allPages({}, 2)).toEqual([e, first, second, c, a])
        expect(await allPages({ botId: 'shop' }, 1)).toEqual([e, first, second, a])
        expect(await allPages({ botId: 'shop', ended: true }, 50)).toEqual([e, b])
        expect(await allPages({ botId: 'shop', ended: false }, 50)).toEqual([d, a])
        expect(await allPages({ since: T + 2, until: T + 5 }, 50)).toEqual([first, second, c])
        expect(await allPages({ botId: 'nobody' }, 50)).toEqual([])

        const page = await store.listConversations({ botId: 'shop', limit: 2 })
        expect(page.conversations.map((c) => c.id)).toEqual([e, first])
        expect(page.next).toEqual({ createdAt: T + 3, id: first })
        expect(page.conversations[0]).toMatchObject({ botId: 'shop', createdAt: T + 5 })
        // Conversations written after the first page change nothing for the next ones.
        await lead('shop', T + 9, [])
        await lead('shop', T + 3, [])
        await store.deleteConversation(e)
        const rest = await allPages({ botId: 'shop', after: page.next! }, 1)
        expect(rest.slice(0, 1)).toEqual([second])
        expect(rest.at(-1)).toBe(a)
        const last = await store.listConversations({ botId: 'shop', limit: 4, after: page.next! })
        expect(last.conversations.length).toBeLessThanOrEqual(4)
      })

      it('searches variable values and messages case-insensitively, across pages', async () => {
        const ada = await lead('shop', T + 1, [
          ['email', 'Ada@Example.com'],
          ['n', 42],
          ['utm_campaign', 'Spring'],
        ])
        const bob = await lead('shop', T + 2, [['email', 'bob@example.com']], {
          text: 'Ich heiße BOB "der Baumeister" \\ ÉCOLE',
        })
        for (let i = 0; i < 30; i++) await lead('shop', T + 10 + i, [['email', `x${i}@test.org`]])
        const search = (q: string, limit = 50) => allPages({ botId: 'shop', q }, limit)
        expect(await search('ada@example.COM')).toEqual([ada])
        expect(await search('EXAMPLE.com')).toEqual([bob, ada])
        expect(await search('example', 1)).toEqual([bob, ada])
        expect(await search('42')).toEqual([ada])
        expect(await search('heiße bob "der')).toEqual([bob])
        expect(await search('\\ école')).toEqual([bob])
        // Field names and the state's own keys are not searched.
        expect(await search('utm_campaign')).toEqual([])
        expect(await search('SPRING')).toEqual([ada])
        expect(await search('shop')).toEqual([])
        expect(await search('waiting')).toEqual([])
        expect(await search('what is your')).toHaveLength(32)
        expect(await search('nothing like this')).toEqual([])
      })

      it('counts the funnel: reached blocks and where live conversations wait', async () => {
        await lead('shop', T + 1, [], { reached: ['welcome', 'ask-email'], waitsAt: 'ask-email' })
        await lead('shop', T + 2, [], {
          reached: ['welcome', 'ask-email', 'ask-phone'],
          waitsAt: 'ask-phone',
        })
        await lead('shop', T + 3, [], {
          reached: ['welcome', 'ask-email', 'ask-phone', 'thanks'],
          ended: true,
        })
        await lead('other', T + 3, [], { reached: ['welcome'] })
        const id = await lead('shop', T + 4, [], { reached: ['welcome'], waitsAt: 'welcome' })
        expect(
          await store.updateConversation({
            id,
            expectedVersion: 1,
            state: { ...state('shop'), at: 'ask-email' },
            now: T + 5,
            reached: ['welcome', 'ask-email'],
          }),
        ).toBe(true)
        // Without `reached`, an update keeps the stored set.
        expect(
          await store.updateConversation({
            id,
            expectedVersion: 2,
            state: { ...state('shop'), at: 'ask-email' },
            now: T + 6,
          }),
        ).toBe(true)
        expect((await store.getConversation(id))?.reached).toEqual(['welcome', 'ask-email'])
        const funnel = await store.funnel('shop')
        expect(funnel.conversations).toBe(4)
        expect({ ...funnel.reached }).toEqual({
          welcome: 4,
          'ask-email': 4,
          'ask-phone': 2,
          thanks: 1,
        })
        expect({ ...funnel.stoppedHere }).toEqual({ 'ask-email': 2, 'ask-phone': 1 })
        const early = await store.funnel('shop', { since: T + 2, until: T + 4 })
        expect(early.conversations).toBe(2)
        expect({ ...early.stoppedHere }).toEqual({ 'ask-phone': 1 })
        const none = await store.funnel('nobody')
        expect({
          ...none,
          reached: { ...none.reached },
          stoppedHere: { ...none.stoppedHere },
        }).toEqual({
          conversations: 0,
          reached: {},
          stoppedHere: {},
        })
      })

      it('deletes a conversation with all its deliveries, pending ones cancelled', async () => {
        await store.putWebhook(webhook('crm'))
        const pending = asyncDelivery('crm', 'x', T)
        const id = uid('conv')
        const withId = { ...pending, conversationId: id }
        await store.createConversation({ id, botId: 'shop', state: state('shop'), now: T }, [
          withId,
        ])
        const done = {
          ...asyncDelivery('crm', id, T),
          status: 'delivered' as const,
          attempt: attempt(T, 200),
        }
        await store.recordDelivery(done)
        const other = await conversation([asyncDelivery('crm', 'ignored', T)])
        expect(await store.deleteConversation(id)).toBe(true)
        expect(await store.deleteConversation(id)).toBe(false)
        expect(await store.deleteConversation('missing\0')).toBe(false)
        expect(await store.getConversation(id)).toBeNull()
        expect(await store.getDelivery(withId.id)).toBeNull()
        expect(await store.getDelivery(done.id)).toBeNull()
        expect(await store.listDeliveries({ conversationId: id, limit: 10 })).toEqual([])
        expect(
          await store.leaseDueDeliveries({ now: T + 1, limit: 10, leaseMs: 1000, owner: 'w' }),
        ).toHaveLength(1)
        expect(await store.getConversation(other)).not.toBeNull()
        expect(
          (await store.listConversations({ limit: 10 })).conversations.map((c) => c.id),
        ).toEqual([other])
      })

      it('retention deletes stale conversations in batches, keeping pending deliveries until they finish', async () => {
        await store.putWebhook(webhook('crm'))
        const stale: string[] = []
        for (let i = 0; i < 5; i++) stale.push(await lead('shop', T + i, []))
        const fresh = await lead('shop', T + 100, [])
        const pending = asyncDelivery('crm', stale[0]!, T)
        const finished = {
          ...asyncDelivery('crm', stale[0]!, T),
          status: 'failed' as const,
          attempt: attempt(T, 500),
        }
        await store.recordDelivery(pending)
        await store.recordDelivery(finished)
        expect(await store.deleteStaleConversations(T + 50, 2)).toBe(2)
        expect(await store.getConversation(stale[0]!)).toBeNull()
        expect(await store.getConversation(stale[2]!)).not.toBeNull()
        expect(await store.getDelivery(finished.id)).toBeNull()
        expect((await store.getDelivery(pending.id))?.status).toBe('pending')
        expect((await store.listRetainedDeliveries()).map((d) => d.id)).toEqual([pending.id])
        expect(await store.deleteStaleConversations(T + 50, 2)).toBe(2)
        expect(await store.deleteStaleConversations(T + 50, 2)).toBe(1)
        expect(await store.deleteStaleConversations(T + 50, 2)).toBe(0)
        expect(await store.getConversation(fresh)).not.toBeNull()
        // The retained delivery goes once it finished.
        const [leased] = await store.leaseDueDeliveries({
          now: T,
          limit: 1,
          leaseMs: 1000,
          owner: 'w',
        })
        expect(leased?.id).toBe(pending.id)
        await store.completeAttempt({
          id: pending.id,
          owner: 'w',
          attempt: attempt(T, 200),
          outcome: { status: 'delivered' },
        })
        expect(await store.deleteStaleConversations(T + 50, 2)).toBe(0)
        expect(await store.getDelivery(pending.id)).toBeNull()
        expect(await store.listRetainedDeliveries()).toEqual([])
      })

      it('deletes delivery records by id', async () => {
        await store.putWebhook(webhook('crm'))
        const one = asyncDelivery('crm', 'c', T)
        const two = asyncDelivery('crm', 'c', T)
        await store.recordDelivery(one)
        await store.recordDelivery(two)
        expect(await store.deleteDeliveries([one.id, 'missing', 'nul\0'])).toBe(1)
        expect(await store.getDelivery(one.id)).toBeNull()
        expect(await store.getDelivery(two.id)).not.toBeNull()
        expect(await store.nextDueAt()).toBe(T)
      })
    })
  })
}
