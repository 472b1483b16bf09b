// Results benchmarks of @joon/server (issue 15), run against dist/ on a SQLite file holding
// BENCH_CONVERSATIONS conversations (default 1,000,000; generated directly in the file, not
// over HTTP): 70 % of them of the lead-generation bot, the rest spread over 3 other bots,
// started over 90 days, each with its transcript, answers and reached blocks.
// Measures, with targets from the issue: the first page of one bot's listing (p95 < 20 ms),
// a search for one visitor (< 500 ms), the funnel (< 1 s), the CSV export (≥ 50,000 rows/s,
// RSS growing < 64 MB), and conversation writes per second (create + 3 updates, as a chat
// does) with the results indexes against the same file without the per-bot listing index and
// deliveries(conversation_id) (≥ 90 %; the start-time index and `reached` stay in both), and
// the latency of chat turns (HTTP handler, same thread) while retention sweeps the oldest
// 100,000 conversations, against the same turns without a sweep.
// Prints one JSON line per measurement (read by tools/bench.mjs).
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setMessagesApart } from '@joon/core'

const dist = new URL('../dist/', import.meta.url)
const { SqliteStore } = await import(new URL('store/sqlite.js', dist))
const { openSqliteDatabase } = await import(new URL('store/sqlite-driver.js', dist))
const { createApp } = await import(new URL('app.js', dist))
const { sweep } = await import(new URL('results/retention.js', dist))

const COUNT = Number(process.env.BENCH_CONVERSATIONS ?? 1_000_000)
const TOKEN = 'bench-admin-token-0123456789'
const round = (n, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits
const print = (fields) => console.log(JSON.stringify(fields))
const percentile = (samples, p) =>
  [...samples].sort((a, b) => a - b)[Math.min(samples.length - 1, Math.floor(samples.length * p))]

const leadGen = {
  id: 'lead-gen',
  name: 'Lead generation',
  start: 'welcome',
  blocks: [
    {
      id: 'welcome',
      type: 'buttons',
      text: 'What brings you here today?',
      choices: [{ label: 'Just browsing' }, { label: 'Book a demo', next: 'ask-email' }],
      next: 'ask-email',
    },
    {
      id: 'ask-email',
      type: 'question',
      answer: 'email',
      text: "What's your email address?",
      saveAnswerTo: 'email',
      next: 'ask-phone',
    },
    {
      id: 'ask-phone',
      type: 'question',
      answer: 'phone',
      text: "What's your phone number?",
      saveAnswerTo: 'phone_number',
      next: 'thanks',
    },
    { id: 'thanks', type: 'text', text: 'Thanks! We will write to {{email}}.' },
  ],
}
const BOTS = ['lead-gen', 'support', 'pricing', 'careers']

/** Conversation i as the chat would have stored it: where it stopped decides its state. */
function conversation(i, now) {
  const botId = i % 10 < 7 ? 'lead-gen' : BOTS[1 + (i % 3)]
  const stop = i % 3 === 0 ? 'ask-email' : i % 3 === 1 ? 'ask-phone' : null
  const email = `visitor-${i}@example.com`
  const phone = `06${String(i).padStart(8, '0')}`
  const messages = [
    { from: 'bot', text: 'What brings you here today?' },
    { from: 'user', text: 'Book a demo' },
    { from: 'bot', text: "What's your email address?" },
  ]
  const context = [['utm_source', i % 2 ? 'google' : 'newsletter']]
  const reached = ['welcome', 'ask-email']
  if (stop !== 'ask-email') {
    messages.push({ from: 'user', text: email }, { from: 'bot', text: "What's your phone number?" })
    context.push(['email', email])
    reached.push('ask-phone')
  }
  if (stop === null) {
    messages.push(
      { from: 'user', text: phone },
      { from: 'bot', text: `Thanks! We will write to ${email}.` },
    )
    context.push(['phone_number', phone])
    reached.push('thanks')
  }
  const state = {
    v: 1,
    botId,
    at: stop,
    waiting: stop ? 'input' : null,
    ended: stop === null,
    context,
    messages,
    calls: 0,
  }
  // Spread over 90 days, in id order (newest last).
  const createdAt = now - 90 * 86_400_000 + Math.floor((i / COUNT) * 90 * 86_400_000)
  // Stored as the store keeps it (short transcripts stay in the state).
  const apart = setMessagesApart(state)
  const id = `c_bench_${String(i).padStart(8, '0')}`
  return {
    state,
    row: [
      id,
      botId,
      JSON.stringify(apart.state),
      createdAt,
      createdAt + 60_000,
      stop,
      JSON.stringify(reached),
    ],
    moved: apart.messages.length > 0 ? [[id, apart.from, JSON.stringify(apart.messages)]] : [],
  }
}

async function generate(file, now) {
  const store = SqliteStore.open(file)
  await store.putBot(leadGen)
  for (const id of BOTS.slice(1)) await store.putBot({ ...leadGen, id, name: id })
  await store.close()
  const db = openSqliteDatabase(file)
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF')
  const insert = db.prepare(
    `INSERT INTO conversations (id, bot_id, bot_version, state, version, created_at, updated_at,
       live_block, reached) VALUES (?, ?, 1, ?, 3, ?, ?, ?, ?)`,
  )
  const insertMessage = db.prepare(
    'INSERT INTO conversation_messages (conversation_id, seq, data) VALUES (?, ?, ?)',
  )
  const started = performance.now()
  for (let i = 0; i < COUNT; i += 20_000) {
    db.transaction('immediate', () => {
      for (let j = i; j < Math.min(COUNT, i + 20_000); j++) {
        const { row, moved } = conversation(j, now)
        insert.run(...row)
        for (const values of moved) insertMessage.run(...values)
      }
    })
  }
  db.exec('ANALYZE')
  db.close()
  return performance.now() - started
}

async function time(fn) {
  const started = performance.now()
  const result = await fn()
  return { ms: performance.now() - started, result }
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'joon-bench-results-'))
  try {
    const file = join(dir, 'joon.db')
    const now = Date.now()
    const generatedMs = await generate(file, now)
    print({
      name: 'results: generated conversations',
      conversations: COUNT,
      seconds: round(generatedMs / 1000),
      fileMB: round(statSync(file).size / 2 ** 20),
    })
    const store = SqliteStore.open(file)
    const app = createApp({ store, adminToken: TOKEN, rateLimit: 0 })
    const get = (path) =>
      app.request(`/api/v1/admin${path}`, { headers: { authorization: `Bearer ${TOKEN}` } })

    // First page of one bot's listing, through the HTTP handler.
    const pageMs = []
    for (let i = 0; i < 60; i++) {
      const { ms, result } = await time(() => get('/conversations?bot=lead-gen'))
      if (result.status !== 200) throw new Error(`listing: ${result.status}`)
      await result.text()
      if (i >= 10) pageMs.push(ms)
    }
    print({
      name: 'results: listing first page (one bot)',
      p50ms: round(percentile(pageMs, 0.5), 2),
      p95ms: round(percentile(pageMs, 0.95), 2),
      targetMs: 20,
    })

    // Searches: one visitor (found among the oldest: the whole bot is read) and a common word.
    for (const [label, q] of [
      ['one visitor, oldest', `visitor-${COUNT < 20 ? 0 : 20}@example.com`],
      ['one visitor, recent', `visitor-${COUNT - 9}@example.com`],
      ['a common answer', 'book a demo'],
    ]) {
      const runs = []
      let found = 0
      for (let i = 0; i < 3; i++) {
        const { ms, result } = await time(() =>
          get(`/conversations?bot=lead-gen&q=${encodeURIComponent(q)}`),
        )
        found = (await result.json()).conversations.length
        runs.push(ms)
      }
      print({
        name: `results: search (${label})`,
        ms: round(Math.min(...runs)),
        found,
        targetMs: 500,
      })
    }

    // The funnel of the big bot.
    const funnelRuns = []
    for (let i = 0; i < 3; i++) {
      const { ms, result } = await time(() => get('/bots/lead-gen/funnel'))
      if (result.status !== 200) throw new Error(`funnel: ${result.status}`)
      await result.text()
      funnelRuns.push(ms)
    }
    print({ name: 'results: funnel (one bot)', ms: round(Math.min(...funnelRuns)), targetMs: 1000 })

    // CSV export of the big bot: rows/s and RSS growth while streaming.
    global.gc?.()
    const rssBefore = process.memoryUsage().rss
    let rssPeak = rssBefore
    const exported = await time(async () => {
      const response = await get('/bots/lead-gen/results?format=csv')
      const reader = response.body.getReader()
      let bytes = 0
      let lines = 0
      for (;;) {
        const { done, value } = await reader.read()
        if (done) break
        bytes += value.byteLength
        for (const byte of value) if (byte === 10) lines++
        const rss = process.memoryUsage().rss
        if (rss > rssPeak) rssPeak = rss
      }
      return { bytes, lines }
    })
    const rows = Math.round(COUNT * 0.7)
    print({
      name: 'results: CSV export (one bot)',
      rows,
      seconds: round(exported.ms / 1000, 2),
      rowsPerSecond: Math.round(rows / (exported.ms / 1000)),
      MB: round(exported.result.bytes / 2 ** 20),
      rssGrowthMB: round((rssPeak - rssBefore) / 2 ** 20),
      targetRowsPerSecond: 50_000,
      targetRssGrowthMB: 64,
    })

    // Chat turns while retention sweeps the oldest 10 % (100,000 of 1,000,000).
    const chat = async (path, body) => {
      const started = performance.now()
      const response = await app.request(`/api/v1${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
      const json = await response.json()
      return { ms: performance.now() - started, json }
    }
    const turns = async (until) => {
      const latencies = []
      for (let i = 0; !(await until()); i++) {
        const first = await chat('/bots/lead-gen/conversations', {})
        latencies.push(first.ms)
        const id = first.json.conversationId
        for (const text of ['Book a demo', `turn-${i}@example.com`, '0612345678']) {
          latencies.push((await chat(`/conversations/${id}/replies`, { text })).ms)
        }
      }
      return latencies
    }
    const quietEnd = performance.now() + 3000
    const quiet = await turns(async () => performance.now() > quietEnd)
    let swept = null
    const sweepStarted = performance.now()
    const sweeping = sweep(store, 81 * 86_400_000, () => now).then((n) => {
      swept = { n, ms: performance.now() - sweepStarted }
    })
    const during = await turns(async () => swept !== null)
    await sweeping
    print({
      name: 'results: chat turn latency while retention sweeps 100,000 conversations',
      swept: swept.n,
      sweepSeconds: round(swept.ms / 1000, 2),
      turnsDuring: during.length,
      p50ms: round(percentile(during, 0.5), 2),
      p99ms: round(percentile(during, 0.99), 2),
      p99msWithoutSweep: round(percentile(quiet, 0.99), 2),
    })

    // Conversation writes with the results indexes, then without them (same file, same run).
    const writes = async (label) => {
      const started = performance.now()
      let n = 0
      const { state } = conversation(2, now)
      const deadline = started + 4000
      while (performance.now() < deadline) {
        const batch = []
        for (let k = 0; k < 50; k++) {
          const id = `c_new_${label}_${n++}`
          batch.push(
            (async () => {
              await store.createConversation({
                id,
                botId: 'lead-gen',
                state,
                now: Date.now(),
                reached: ['welcome'],
              })
              // Each turn appends a reply and a question, as a chat's turns do.
              let kept = setMessagesApart(state).state
              for (let v = 1; v <= 3; v++) {
                const turn = { ...kept, messages: state.messages.slice(1, 3) }
                await store.updateConversation({
                  id,
                  expectedVersion: v,
                  state: turn,
                  now: Date.now(),
                  reached: ['welcome', 'ask-email'],
                })
                kept = setMessagesApart(turn).state
              }
            })(),
          )
        }
        await Promise.all(batch)
      }
      return (n * 4) / ((performance.now() - started) / 1000)
    }
    const withIndexes = await writes('with')
    await store.close()
    const raw = openSqliteDatabase(file)
    // conversations_started stays (retention's statement names it), and so does `reached`.
    raw.exec('DROP INDEX conversations_bot_started; DROP INDEX deliveries_conversation')
    raw.close()
    const bare = SqliteStore.open(file)
    const store2 = bare
    const withoutIndexes = await (async () => {
      const started = performance.now()
      let n = 0
      const { state } = conversation(2, now)
      while (performance.now() < started + 4000) {
        const batch = []
        for (let k = 0; k < 50; k++) {
          const id = `c_new_without_${n++}`
          batch.push(
            (async () => {
              await store2.createConversation({ id, botId: 'lead-gen', state, now: Date.now() })
              let kept = setMessagesApart(state).state
              for (let v = 1; v <= 3; v++) {
                const turn = { ...kept, messages: state.messages.slice(1, 3) }
                await store2.updateConversation({
                  id,
                  expectedVersion: v,
                  state: turn,
                  now: Date.now(),
                })
                kept = setMessagesApart(turn).state
              }
            })(),
          )
        }
        await Promise.all(batch)
      }
      return (n * 4) / ((performance.now() - started) / 1000)
    })()
    await bare.close()
    print({
      name: 'results: conversation writes/s with the results indexes vs without',
      withIndexes: Math.round(withIndexes),
      withoutIndexes: Math.round(withoutIndexes),
      ratio: round(withIndexes / withoutIndexes, 2),
      target: 0.9,
    })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

await main()
