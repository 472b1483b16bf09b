import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Papa from 'papaparse'
import { afterEach, describe, expect, it } from 'vitest'
import { startReceiver, waitFor } from './async/support.js'
import { type JoonProcess, startJoon } from './cli-process.js'
import { bodyOf, leadGenBot } from './helpers.js'
import { freshDatabase } from './scale/cluster.js'

/**
 * Issue 15, done when: through the real `joon serve` (built `dist/`), on SQLite and on
 * PostgreSQL, 30 conversations of the lead-generation bot (10 stop at the email question, 5
 * at the phone one, 15 finish and are delivered to a real receiver): the listing, paging,
 * search, CSV parsed back with papaparse, NDJSON, the funnel, delete, erasure checked
 * everywhere, and retention with JOON_RETENTION=3s.
 */

const ADMIN = 'results-admin-token-0123456789'
const cleanups: (() => unknown)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

// biome-ignore lint/suspicious/noExplicitAny: black-box replies are arbitrary JSON
type Json = any

function client(url: string) {
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    const json = response.status === 204 ? null : await bodyOf(response)
    return { status: response.status, headers: response.headers, json }
  }
  const text = async (path: string) => {
    const response = await fetch(`${url}${path}`, {
      headers: { authorization: `Bearer ${ADMIN}` },
    })
    return { status: response.status, headers: response.headers, text: await response.text() }
  }
  return { call, text }
}

interface Store {
  env: Record<string, string>
  args: string[]
}

async function sqlite(dir: string): Promise<Store> {
  return { env: {}, args: ['--data', join(dir, 'joon.db')] }
}

async function postgres(): Promise<Store> {
  const database = await freshDatabase()
  cleanups.push(() => database.drop())
  return { env: { JOON_DATABASE_URL: database.url }, args: [] }
}

/** Lead i's email: two of them are the same person, written differently. */
const emailOf = (i: number) =>
  i === 12 ? 'Nicolas@Joonbot.com' : i === 17 ? ' nicolas@joonbot.COM' : `lead-${i}@example.com`

async function scenario(makeStore: (dir: string) => Promise<Store>) {
  // Deliveries of lead 29 fail (and stay pending: the next attempt is an hour away).
  const receiver = await startReceiver((received, response) => {
    response.statusCode = received.body.includes('lead-29@') ? 500 : 200
    response.end()
  })
  cleanups.push(() => receiver.close())
  const dir = mkdtempSync(join(tmpdir(), 'joon-results-'))
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
  mkdirSync(join(dir, 'bots'))
  writeFileSync(join(dir, 'bots', 'lead-gen.json'), JSON.stringify(leadGenBot))
  writeFileSync(join(dir, 'webhooks.json'), JSON.stringify([{ name: 'crm', url: receiver.url }]))
  const store = await makeStore(dir)
  const start = (env: Record<string, string> = {}) =>
    startJoon(
      [...store.args, '--bots', join(dir, 'bots'), '--webhooks', join(dir, 'webhooks.json')],
      {
        JOON_ADMIN_TOKEN: ADMIN,
        JOON_ALLOW_PRIVATE_URLS: '1',
        JOON_RETRY_SCHEDULE: '0,1h',
        ...store.env,
        ...env,
      },
    )
  let server: JoonProcess = await start()
  cleanups.push(() => server.kill())
  let { call, text } = client(server.url)

  // 30 conversations: 0-9 stop at the email question, 10-14 at the phone one, 15-29 finish.
  const ids: string[] = []
  for (let i = 0; i < 30; i++) {
    const variables: Record<string, string> = { ref: `ref-${i}` }
    if (i === 20) variables.note = '=HYPERLINK("http://evil.example","click")'
    const started = await call('POST', '/api/v1/bots/lead-gen/conversations', { variables })
    expect(started.status).toBe(201)
    const id: string = started.json.conversationId
    ids.push(id)
    const replies = ['Book a demo']
    if (i >= 10) replies.push(emailOf(i))
    if (i >= 15)
      replies.push(i === 25 ? '+33 6 12 34 56 78' : `06123456${String(i).padStart(2, '0')}`)
    for (const reply of replies) {
      expect(
        (await call('POST', `/api/v1/conversations/${id}/replies`, { text: reply })).status,
      ).toBe(200)
    }
  }
  await waitFor('14 deliveries received and one failing', () => receiver.received.length >= 15)
  const newestFirst = [...ids].reverse()

  // The listing, paged 7 at a time: 30 conversations, newest first, no repeats.
  const paged: string[] = []
  let cursor: string | null = null
  do {
    const page: Json = await call(
      'GET',
      `/api/v1/admin/conversations?bot=lead-gen&limit=7${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    )
    expect(page.status).toBe(200)
    paged.push(...page.json.conversations.map((c: Json) => c.conversationId))
    cursor = page.json.nextCursor
  } while (cursor)
  expect(paged).toEqual(newestFirst)
  const all = (await call('GET', '/api/v1/admin/conversations?limit=1000')).json.conversations
  expect(all).toHaveLength(30)
  const first = all.find((c: Json) => c.conversationId === ids[25])
  expect(first).toMatchObject({
    botId: 'lead-gen',
    ended: true,
    variables: { ref: 'ref-25', email: 'lead-25@example.com', phone_number: '+33 6 12 34 56 78' },
    messages: 7,
  })
  expect(Date.parse(first.startedAt)).toBeLessThanOrEqual(Date.parse(first.updatedAt))
  const count = async (query: string) =>
    (await call('GET', `/api/v1/admin/conversations?limit=1000&${query}`)).json.conversations.length
  expect(await count('ended=true')).toBe(15)
  expect(await count('ended=false')).toBe(15)
  expect(await count('q=LEAD-13%40EXAMPLE')).toBe(1)
  expect(await count('q=nicolas%40joonbot.com')).toBe(2)
  expect(await count("q=what's%20your%20PHONE")).toBe(20)
  expect(await count(`since=${encodeURIComponent(first.startedAt)}`)).toBe(5)
  expect((await call('GET', '/api/v1/admin/conversations?limit=0')).status).toBe(400)
  expect((await call('GET', '/api/v1/admin/conversations?cursor=%25')).status).toBe(400)

  // CSV, parsed back by papaparse.
  const csv = await text('/api/v1/admin/bots/lead-gen/results?format=csv')
  expect(csv.status).toBe(200)
  expect(csv.headers.get('content-disposition')).toBe('attachment; filename="lead-gen-results.csv"')
  const parsed = Papa.parse<string[]>(csv.text, { skipEmptyLines: true })
  expect(parsed.errors).toEqual([])
  const [header, ...rows] = parsed.data
  expect(header).toEqual([
    'conversationId',
    'startedAt',
    'updatedAt',
    'ended',
    'email',
    'phone_number',
    'ref',
    'note',
    'transcript',
  ])
  expect(rows).toHaveLength(30)
  expect(rows.map((row) => row[0])).toEqual(newestFirst)
  const row = (i: number) => rows.find((r) => r[0] === ids[i])!
  expect(row(20)[7]).toBe(`'=HYPERLINK("http://evil.example","click")`)
  expect(row(25)[5]).toBe("'+33 6 12 34 56 78")
  expect(row(5).slice(3, 7)).toEqual(['false', '', '', 'ref-5'])
  expect(row(13).slice(4, 6)).toEqual(['lead-13@example.com', ''])
  expect(row(16)[8]).toContain("User: lead-16@example.com\nBot: What's your phone number?\n")

  // NDJSON: the same 30.
  const ndjson = await text('/api/v1/admin/bots/lead-gen/results?format=ndjson')
  const lines = ndjson.text
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line))
  expect(lines.map((line) => line.conversationId)).toEqual(newestFirst)
  expect(lines.find((line) => line.conversationId === ids[20]).variables.note).toBe(
    '=HYPERLINK("http://evil.example","click")',
  )
  const ended = await text('/api/v1/admin/bots/lead-gen/results?format=ndjson&ended=true')
  expect(ended.text.trim().split('\n')).toHaveLength(15)

  // The funnel: where the 15 gave up.
  expect((await call('GET', '/api/v1/admin/bots/lead-gen/funnel')).json).toEqual({
    conversations: 30,
    blocks: [
      { id: 'welcome', type: 'buttons', reached: 30, stoppedHere: 0 },
      { id: 'ask-email', type: 'question', reached: 30, stoppedHere: 10 },
      { id: 'ask-phone', type: 'question', reached: 20, stoppedHere: 5 },
      { id: 'notify', type: 'webhook', reached: 15, stoppedHere: 0 },
      { id: 'thanks', type: 'text', reached: 15, stoppedHere: 0 },
    ],
  })

  // Delete one conversation.
  expect((await call('DELETE', `/api/v1/admin/conversations/${ids[0]}`)).status).toBe(204)
  expect((await call('GET', `/api/v1/admin/conversations/${ids[0]}`)).status).toBe(404)
  expect((await call('DELETE', `/api/v1/admin/conversations/${ids[0]}`)).status).toBe(404)
  expect(await count('bot=lead-gen')).toBe(29)

  // Erasure of Nicolas (leads 12 and 17; 17 finished, so a delivery of it was recorded).
  const deliveries = async () =>
    (await call('GET', '/api/v1/admin/deliveries?limit=1000')).json.deliveries as Json[]
  const nicolasDelivery = (await deliveries()).find((d) => d.conversationId === ids[17])
  expect(nicolasDelivery?.status).toBe('delivered')
  const dry = await call('POST', '/api/v1/admin/erasure?dryRun=true', {
    variable: 'email',
    value: 'NICOLAS@joonbot.com',
  })
  expect(dry.json).toEqual({ wouldErase: 2 })
  const erased = await call('POST', '/api/v1/admin/erasure', {
    variable: 'email',
    value: 'nicolas@joonbot.com',
  })
  expect(erased.json).toEqual({ erased: 2 })
  for (const id of [ids[12], ids[17]]) {
    expect((await call('GET', `/api/v1/admin/conversations/${id}`)).status).toBe(404)
  }
  expect((await call('GET', `/api/v1/admin/deliveries/${nicolasDelivery.id}`)).status).toBe(404)
  expect(JSON.stringify(await deliveries())).not.toMatch(/nicolas/i)
  expect(await count('q=nicolas')).toBe(0)
  expect(await count('bot=lead-gen')).toBe(27)
  for (const format of ['csv', 'ndjson']) {
    const exported = await text(`/api/v1/admin/bots/lead-gen/results?format=${format}`)
    expect(exported.text).not.toMatch(/nicolas/i)
  }
  expect(server.output()).not.toMatch(/nicolas/i)

  // Retention: restarted with JOON_RETENTION=3s, conversations idle for 3 s go, with their
  // finished deliveries; lead 29's pending delivery stays.
  const pending = (await deliveries()).find((d) => d.conversationId === ids[29])
  expect(pending?.status).toBe('pending')
  await server.kill()
  // Every old conversation is then idle for more than 3 s when the server starts, so the
  // start's sweep takes them all while the fresh one stays for 3 s.
  await new Promise((resolve) => setTimeout(resolve, 3_100))
  server = await start({ JOON_RETENTION: '3s' })
  ;({ call, text } = client(server.url))
  const fresh = await call('POST', '/api/v1/bots/lead-gen/conversations', {})
  expect(fresh.status).toBe(201)
  await waitFor(
    'the 27 old conversations are swept',
    async () => (await count('')) === 1,
    15_000,
    100,
  )
  await waitFor(
    'the fresh one is swept once idle for 3 s',
    async () => (await count('')) === 0,
    15_000,
    100,
  )
  expect((await call('GET', `/api/v1/admin/conversations/${ids[29]}`)).status).toBe(404)
  const left = await deliveries()
  expect(left.map((d) => [d.id, d.status])).toEqual([[pending.id, 'pending']])
  await server.kill()
}

describe('results through joon serve (issue 15)', () => {
  it('on SQLite', () => scenario(sqlite), 120_000)
  it('on PostgreSQL', () => scenario(() => postgres()), 120_000)
})
