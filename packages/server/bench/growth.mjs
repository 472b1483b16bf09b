// How a turn's cost grows with the conversation: the time of one reply to a conversation that
// already holds 10, 1,000 or 9,950 messages (the limit is 10,000; 9,950 leaves room for the
// replies a round makes), through the app (`createApp`, in-process: HTTP parsing, the store's
// read and write, the interpreter) on a SQLite file, or on a fresh PostgreSQL database with
// BENCH_STORE=postgres (JOON_TEST_DATABASE_URL names the server). Each size is a batch of fresh conversations with
// that many messages, replied to in turn (each gets BENCH_TURNS / 10 replies); sizes alternate
// within each round and the median round is kept. Prints one JSON line with the microseconds a
// turn at each size and its ratio to the 10-message turn of the same run.
// BENCH_ROUNDS (default 5) rounds of BENCH_TURNS (default 200) replies a size.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { step } from '@joon/core'
import pg from 'pg'
import { createApp } from '../dist/app.js'
import { PostgresStore } from '../dist/store/postgres.js'
import { SqliteStore } from '../dist/store/sqlite.js'

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)
const TURNS = Number(process.env.BENCH_TURNS ?? 200)
const SIZES = [10, 1_000, 9_950]
const CONVERSATIONS = 10
const bot = {
  id: 'chatty',
  start: 'ask',
  blocks: [{ id: 'ask', type: 'question', answer: 'text', text: 'And then, dear?', next: 'ask' }],
}

/** A conversation state of `size` messages: replies of about 40 characters each. */
function stateOf(size) {
  let result = step(bot, null, { type: 'start' })
  while (result.state.messages.length < size) {
    const text = `Reply number ${result.state.messages.length} with a few words`
    result = step(bot, result.state, { type: 'reply', text })
  }
  return result.state
}

/** The store to measure: a SQLite file, or with BENCH_STORE=postgres a fresh database. */
async function openStore() {
  const dir = mkdtempSync(join(tmpdir(), 'joon-bench-growth-'))
  if (process.env.BENCH_STORE !== 'postgres') {
    const store = SqliteStore.open(join(dir, 'joon.db'))
    return { store, drop: async () => rmSync(dir, { recursive: true, force: true }) }
  }
  const server = new URL(process.env.JOON_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1/test')
  const name = `joon_bench_growth_${process.pid}`
  const maintenance = async (sql) => {
    const client = new pg.Client({ connectionString: new URL('/postgres', server).href })
    await client.connect()
    await client.query(sql).finally(() => client.end())
  }
  await maintenance(`CREATE DATABASE ${name}`)
  const store = await PostgresStore.open(new URL(`/${name}`, server).href)
  return { store, drop: () => maintenance(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) }
}

const { store, drop } = await openStore()
try {
  await store.putBot(bot)
  const app = createApp({ store, rateLimit: 0 })
  const states = new Map(SIZES.map((size) => [size, stateOf(size)]))
  let next = 0
  /** Microseconds a reply to conversations of about `size` messages takes. */
  async function timeTurns(size) {
    const ids = []
    for (let i = 0; i < CONVERSATIONS; i++) {
      const id = `c_growth_${next++}`
      await store.createConversation({
        id,
        botId: 'chatty',
        botVersion: 1,
        state: states.get(size),
        now: Date.now(),
      })
      ids.push(id)
    }
    const started = performance.now()
    for (let turn = 0; turn < TURNS; turn++) {
      const id = ids[turn % CONVERSATIONS]
      const response = await app.request(`/api/v1/conversations/${id}/replies`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"text":"One more reply of about forty chars"}',
      })
      if (response.status !== 200) throw new Error(`reply answered ${response.status}`)
      await response.arrayBuffer()
    }
    return ((performance.now() - started) * 1000) / TURNS
  }
  for (const size of SIZES) await timeTurns(size) // warm-up
  const rounds = []
  for (let round = 0; round < ROUNDS; round++) {
    const times = {}
    for (const size of round % 2 === 0 ? SIZES : SIZES.toReversed()) {
      times[size] = await timeTurns(size)
    }
    rounds.push(times)
  }
  const median = (values) => values.toSorted((a, b) => a - b)[values.length >> 1]
  const result = { name: `turn-by-conversation-size-${process.env.BENCH_STORE ?? 'sqlite'}` }
  for (const size of SIZES) {
    const micros = median(rounds.map((times) => times[size]))
    result[`micros${size}`] = Math.round(micros)
    result[`ratio${size}`] = Math.round((100 * micros) / median(rounds.map((t) => t[10]))) / 100
  }
  console.log(JSON.stringify(result))
} finally {
  await store.close()
  await drop()
}
