import type { ServerResponse } from 'node:http'
import type { BotInput } from '@joon/core'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  ADMIN_TOKEN,
  cliBuilt,
  converse,
  inParallel,
  type JoonServer,
  listDeliveries,
  notifyBot,
  workspace,
} from '../async/server-process.js'
import { type Receiver, type Reply, sleep, startReceiver, waitFor } from '../async/support.js'
import { leadGenBot } from '../helpers.js'
import { connectionsTo, freshDatabase, startOnPostgres, type TestDatabase } from './cluster.js'

/**
 * Issue 7's promises, held against two real `joon serve` processes (built `dist/`) on one real
 * PostgreSQL database: a conversation served by both in turn, racing replies, 1,000 async
 * deliveries with none sent twice, an instance killed mid-delivery, and both starting at once
 * on an empty database.
 */

const cleanups: (() => unknown)[] = []
afterEach(async () => {
  // Every cleanup runs (the database is dropped last), even when one before it fails.
  const errors: unknown[] = []
  for (const cleanup of cleanups.splice(0).reverse()) {
    try {
      await cleanup()
    } catch (error) {
      errors.push(error)
    }
  }
  if (errors.length > 0) throw errors[0]
})

beforeAll(() => {
  if (!cliBuilt) throw new Error('dist/cli.js is missing: build @joon/server first (pnpm build)')
})

async function database(): Promise<TestDatabase> {
  const created = await freshDatabase()
  cleanups.push(created.drop)
  return created
}

/** Starts `count` instances on `db` at the same moment. */
async function instances(
  db: TestDatabase,
  args: string[],
  schedule: string,
  count = 2,
): Promise<JoonServer[]> {
  const started = await Promise.allSettled(
    Array.from({ length: count }, () => startOnPostgres(db, args, schedule)),
  )
  for (const result of started) {
    if (result.status === 'fulfilled') cleanups.push(() => result.value.kill())
  }
  const failed = started.find((result) => result.status === 'rejected')
  if (failed) throw failed.reason
  return started.map((result) => (result as PromiseFulfilledResult<JoonServer>).value)
}

async function receiver(reply: Reply): Promise<Receiver> {
  const started = await startReceiver(reply)
  cleanups.push(() => started.close())
  return started
}

function space(...args: Parameters<typeof workspace>) {
  const created = workspace(...args)
  cleanups.push(created.dispose)
  return created
}

// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON replies
type Json = any

async function call(
  base: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: Json }> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: {
      'content-type': 'application/json',
      ...(path.startsWith('/api/v1/admin') ? { authorization: `Bearer ${ADMIN_TOKEN}` } : {}),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  const text = await response.text()
  return { status: response.status, json: text ? JSON.parse(text) : null }
}

const reply = (base: string, id: string, text: string) =>
  call(base, 'POST', `/api/v1/conversations/${id}/replies`, { text })

/** The bot messages of a chat API answer, in order. */
const shown = (json: Json): string[] =>
  json.responses.flatMap((response: Json) =>
    response.type === 'text' ? response.elements.map((element: Json) => element.label) : [],
  )

const ok: Reply = (_received, response) => response.end()
const leadOf = (body: string) => (JSON.parse(body) as { lead: number }).lead
const SCHEDULE = '0,100ms,200ms,400ms,800ms'

describe('several `joon serve` instances on one PostgreSQL database', () => {
  it('1. one conversation alternates between two instances and ends; racing replies: one 200, the other 409 conflict', async () => {
    const db = await database()
    const crm = await receiver(ok)
    // The synchronous webhook of the race bot: holds every call until two are open at once,
    // so both racing turns are certainly in flight together, then answers both.
    const held: (() => void)[] = []
    let calls = 0
    let pairs = 0
    const slow = await receiver((_received, response: ServerResponse) => {
      const n = ++calls
      const answer = () => {
        response.setHeader('content-type', 'application/json')
        response.end(JSON.stringify({ checkedBy: `call-${n}` }))
      }
      held.push(answer)
      if (held.length >= 2) {
        pairs++
        for (const release of held.splice(0)) setTimeout(release, 20)
      } else {
        // A lone call (the race failed to overlap) is answered anyway; the test then fails
        // on `pairs`, not on a timeout.
        setTimeout(() => {
          const index = held.indexOf(answer)
          if (index >= 0) held.splice(index, 1)[0]?.()
        }, 5_000)
      }
    })
    const raceBot: BotInput = {
      id: 'race',
      start: 'ask',
      blocks: [
        {
          id: 'ask',
          type: 'question',
          answer: 'text',
          text: 'Your name?',
          saveAnswerTo: 'name',
          next: 'check',
        },
        { id: 'check', type: 'webhook', webhook: 'slow', async: false, next: 'done' },
        { id: 'done', type: 'text', text: 'Hello {{name}} ({{checkedBy}})' },
      ],
    }
    const { args } = space(
      [leadGenBot, raceBot],
      [
        { name: 'crm', url: crm.url, timeoutMs: 5_000 },
        { name: 'slow', url: slow.url, timeoutMs: 10_000 },
      ],
    )
    const [a, b] = (await instances(db, args, SCHEDULE)) as [JoonServer, JoonServer]

    // Start on A, then every reply goes to the other instance than the one before.
    const started = await call(a.url, 'POST', '/api/v1/bots/lead-gen/conversations', {
      variables: { source: 'scale-test' },
    })
    expect(started.status).toBe(201)
    const id: string = started.json.conversationId
    expect(shown(started.json)).toEqual(['What brings you here today?'])

    const demo = await reply(b.url, id, 'Book a demo')
    expect(demo.status).toBe(200)
    expect(shown(demo.json)).toEqual(["What's your email address?"])
    // An invalid answer on A: the retry prompt, and the same question asked again.
    const invalid = await reply(a.url, id, 'not an email')
    expect(invalid.status).toBe(200)
    expect(invalid.json.input.type).toBe('email')
    expect(invalid.json.ended).toBe(false)
    const [retryPrompt] = shown(invalid.json)
    expect(retryPrompt).toMatch(/email/)
    const email = await reply(b.url, id, 'ada@example.com')
    expect(email.status).toBe(200)
    expect(shown(email.json)).toEqual(["What's your phone number?"])
    const phone = await reply(a.url, id, '0612345678')
    expect(phone.status).toBe(200)
    expect(phone.json).toMatchObject({ ended: true, input: null })
    expect(shown(phone.json)).toEqual(['Thanks! We will write to ada@example.com.'])
    // Ended for both instances.
    const late = await reply(b.url, id, 'hello?')
    expect(late.status).toBe(409)
    expect(late.json.error.code).toBe('conversation_ended')

    // Both instances show the same, whole conversation.
    const viewA = await call(a.url, 'GET', `/api/v1/conversations/${id}`)
    const viewB = await call(b.url, 'GET', `/api/v1/conversations/${id}`)
    expect(viewA.status).toBe(200)
    expect(viewB.json).toEqual(viewA.json)
    expect(viewA.json.ended).toBe(true)
    expect(
      viewA.json.messages.filter((m: Json) => m.from === 'user').map((m: Json) => m.text),
    ).toEqual(['Book a demo', 'not an email', 'ada@example.com', '0612345678'])

    // Its asynchronous delivery arrives once, with the whole transcript.
    await waitFor('the lead delivered', () => crm.received.length === 1)
    const lead = JSON.parse(crm.received[0]!.body)
    expect(lead).toMatchObject({
      source: 'scale-test',
      email: 'ada@example.com',
      phone_number: '0612345678',
    })
    // The webhook runs before the closing text, so the transcript ends with the last answer.
    expect(lead.conversation).toBe(
      'Bot: What brings you here today?\nUser: Book a demo\n' +
        "Bot: What's your email address?\nUser: not an email\n" +
        `Bot: ${retryPrompt}\nUser: ada@example.com\n` +
        "Bot: What's your phone number?\nUser: 0612345678\n",
    )
    await sleep(200)
    expect(crm.received).toHaveLength(1)

    // Racing replies: one to each instance at the same moment, both calling the slow webhook.
    for (let round = 0; round < 4; round++) {
      const race = await call(a.url, 'POST', '/api/v1/bots/race/conversations', {})
      expect(race.status).toBe(201)
      const raceId: string = race.json.conversationId
      const [first, second] = round % 2 ? [b, a] : [a, b]
      const [fromFirst, fromSecond] = await Promise.all([
        reply(first.url, raceId, `Ada ${round}`),
        reply(second.url, raceId, `Grace ${round}`),
      ])
      // Both turns had called the webhook before either answer was sent.
      expect(pairs).toBe(round + 1)
      expect([fromFirst.status, fromSecond.status].sort()).toEqual([200, 409])
      const [winner, loser, winnerName] =
        fromFirst.status === 200
          ? [fromFirst, fromSecond, `Ada ${round}`]
          : [fromSecond, fromFirst, `Grace ${round}`]
      expect(loser.json.error.code).toBe('conflict')
      expect(winner.json.ended).toBe(true)
      const [greeting] = shown(winner.json)
      expect(greeting).toMatch(new RegExp(`^Hello ${winnerName} \\(call-\\d+\\)$`))

      // Only the winner's turn was stored: its answer, its webhook's result, nothing else.
      for (const server of [a, b]) {
        const stored = await call(server.url, 'GET', `/api/v1/admin/conversations/${raceId}`)
        expect(stored.status).toBe(200)
        expect(stored.json.ended).toBe(true)
        expect(stored.json.context.name).toBe(winnerName)
        expect(greeting).toBe(`Hello ${winnerName} (${stored.json.context.checkedBy})`)
        expect(stored.json.transcript).toBe(
          `Bot: Your name?\nUser: ${winnerName}\nBot: ${greeting}\n`,
        )
      }
    }
    expect(calls).toBe(8)
  }, 60_000)

  it('2. 1,000 conversations with an async block over both instances: 1,000 deliveries, none twice', async () => {
    const db = await database()
    /** The remote port of each request: which connection, hence which instance, sent it. */
    const fromPorts: number[] = []
    const target = await receiver((_received, response, request) => {
      fromPorts.push(request.socket.remotePort ?? 0)
      response.end()
    })
    const { args } = space(
      [notifyBot('lead', 'crm')],
      [{ name: 'crm', url: target.url, timeoutMs: 5_000 }],
    )
    const [a, b] = (await instances(db, args, SCHEDULE)) as [JoonServer, JoonServer]
    // Which instance holds which connection to the receiver, sampled while they send.
    const portsOf = new Map([a, b].map((server) => [server, new Set<number>()]))
    const sample = () => {
      for (const [server, ports] of portsOf) {
        for (const port of connectionsTo(server.child.pid!, target.port)) ports.add(port)
      }
    }
    const sampler = setInterval(sample, 20)
    cleanups.push(() => clearInterval(sampler))

    await inParallel(1_000, 16, async (lead) => {
      const server = lead % 2 ? b : a
      expect((await converse(server.url, 'lead', { lead })).status).toBe(201)
    })
    await waitFor('1,000 requests received', () => target.received.length >= 1_000, 60_000, 50)
    await waitFor(
      'nothing pending',
      async () => (await listDeliveries(a.url, { status: 'pending' })).length === 0,
      10_000,
      50,
    )
    // A delivery taken by both instances would have been sent by now: calls are immediate.
    await sleep(500)
    sample()
    clearInterval(sampler)

    expect(target.received).toHaveLength(1_000)
    expect(new Set(target.received.map((r) => r.id)).size).toBe(1_000)
    expect(new Set(target.received.map((r) => leadOf(r.body))).size).toBe(1_000)
    const rows = await db.query<{ status: string; attempts: number; count: string }>(
      'SELECT status, attempts, count(*) FROM deliveries GROUP BY status, attempts',
    )
    expect(rows).toEqual([{ status: 'delivered', attempts: 1, count: '1000' }])
    const listed = await listDeliveries(b.url)
    expect(listed).toHaveLength(1_000)
    expect(new Set(listed.map((d) => d.id))).toEqual(new Set(target.received.map((r) => r.id)))
    // Both workers were sending: each instance's connections carried deliveries.
    const sentBy = [a, b].map(
      (server) => fromPorts.filter((port) => portsOf.get(server)!.has(port)).length,
    )
    console.log(`1,000 deliveries: sent by A ${sentBy[0]}, by B ${sentBy[1]} (by connection)`)
    expect(sentBy[0]).toBeGreaterThan(0)
    expect(sentBy[1]).toBeGreaterThan(0)
  }, 90_000)

  it('3. one instance is killed with SIGKILL mid-delivery: the other finishes all of them', async () => {
    const db = await database()
    /** Ids answered 2xx, and ids whose call was cut off (its sender died) before the answer. */
    const answered = new Set<string>()
    const cutOff: string[] = []
    /** The remote ports of the calls being answered right now. */
    const openFrom = new Set<number>()
    const target = await receiver((received, response, request) => {
      const port = request.socket.remotePort ?? 0
      openFrom.add(port)
      response.on('close', () => openFrom.delete(port))
      const timer = setTimeout(() => {
        answered.add(received.id)
        response.end()
      }, 250)
      response.on('close', () => {
        if (response.writableEnded) return
        clearTimeout(timer)
        cutOff.push(received.id)
      })
    })
    // A 1 s timeout: the worker's default lease is then 2 × 1 s + 5 s, so a dead instance's
    // deliveries come back to the other one within 7 s.
    const { args } = space(
      [notifyBot('lead', 'crm')],
      [{ name: 'crm', url: target.url, timeoutMs: 1_000 }],
    )
    const [a, b] = (await instances(db, args, SCHEDULE)) as [JoonServer, JoonServer]

    // Two instances send 16 calls of 250 ms each at once: enough that a good part is left
    // when the first 20 are in.
    const COUNT = 480
    await inParallel(COUNT, 8, async (lead) => {
      const server = lead % 2 ? b : a
      expect((await converse(server.url, 'lead', { lead })).status).toBe(201)
    })
    await waitFor('deliveries flowing', () => answered.size >= 20, 20_000)
    // A busy machine may start one instance's delivery thread late: kill A once it is sending.
    await waitFor(
      'A sending',
      () => [...connectionsTo(a.child.pid!, target.port)].some((port) => openFrom.has(port)),
      10_000,
      5,
    )
    a.child.kill('SIGKILL')
    const killedAt = performance.now()
    expect(await a.exited).toBe('SIGKILL')
    // A was sending when it died: its calls were cut off at the receiver.
    await waitFor('the killed instance’s calls cut off', () => cutOff.length > 0, 2_000)
    expect(answered.size).toBeLessThan(COUNT)

    await waitFor(
      'every delivery answered',
      () => target.received.every((r) => answered.has(r.id)) && answered.size >= COUNT,
      30_000,
      50,
    )
    await waitFor(
      'nothing pending',
      async () => (await listDeliveries(b.url, { status: 'pending' })).length === 0,
      10_000,
      50,
    )
    console.log(
      `SIGKILL: ${cutOff.length} calls cut off, all ${COUNT} delivered ` +
        `${Math.round(performance.now() - killedAt)} ms after the kill`,
    )

    const leads = new Set(
      target.received.filter((r) => answered.has(r.id)).map((r) => leadOf(r.body)),
    )
    expect(leads.size).toBe(COUNT)
    expect(answered.size).toBe(COUNT)
    // What was cut off was sent again, under the same webhook-id, by the survivor.
    for (const id of cutOff) expect(answered.has(id)).toBe(true)
    const rows = await db.query<{ status: string; count: string }>(
      'SELECT status, count(*) FROM deliveries GROUP BY status',
    )
    expect(rows).toEqual([{ status: 'delivered', count: String(COUNT) }])
    // Sent twice at most what the dead instance held (leased, in flight or cut off).
    expect(target.received.length - COUNT).toBeLessThanOrEqual(32)
  }, 60_000)

  it('4. both instances start at once on an empty database: migrations run once, both serve', async () => {
    const db = await database()
    const tables = async () =>
      (
        await db.query<{ tablename: string }>(
          "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
        )
      ).map((row) => row.tablename)
    expect(await tables()).toEqual([])

    const crm = await receiver(ok)
    const { args } = space(
      [notifyBot('lead', 'crm')],
      [{ name: 'crm', url: crm.url, timeoutMs: 5_000 }],
    )
    const servers = await instances(db, args, SCHEDULE)

    expect(await tables()).toEqual([
      'bot_counters',
      'bot_versions',
      'bots',
      'conversation_messages',
      'conversations',
      'deliveries',
      'joon_schema',
      'models',
      'retained_deliveries',
      'webhook_health',
      'webhooks',
    ])
    const versions = await db.query<{ version: number }>('SELECT version FROM joon_schema')
    expect(versions).toHaveLength(1)
    expect(versions[0]!.version).toBeGreaterThanOrEqual(1)
    // Every table was created by one transaction: one instance migrated, the other found the
    // schema up to date (a second run would have failed on CREATE TABLE and not started).
    const creators = await db.query<{ creators: string }>(
      `SELECT count(DISTINCT xmin::text) AS creators FROM pg_class
       WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' AND relname <> 'joon_schema'`,
    )
    expect(creators).toEqual([{ creators: '1' }])

    const ids: string[] = []
    for (const [n, server] of servers.entries()) {
      expect(await call(server.url, 'GET', '/healthz')).toEqual({
        status: 200,
        json: { status: 'ok' },
      })
      const started = await converse(server.url, 'lead', { lead: n })
      expect(started.status).toBe(201)
      ids.push(started.json.conversationId)
    }
    // Each instance sees what the other one wrote.
    const [a, b] = servers as [JoonServer, JoonServer]
    for (const [id, server] of [
      [ids[0]!, b],
      [ids[1]!, a],
    ] as const) {
      const view = await call(server.url, 'GET', `/api/v1/conversations/${id}`)
      expect(view.status).toBe(200)
      expect(view.json.ended).toBe(true)
    }
    await waitFor('both leads delivered', () => crm.received.length === 2)
    expect(new Set(crm.received.map((r) => leadOf(r.body)))).toEqual(new Set([0, 1]))
    const bots = await db.query<{ count: string }>('SELECT count(*) FROM bots')
    expect(bots).toEqual([{ count: '1' }])
  }, 60_000)
})
