// PostgreSQL benchmarks of @joon/server, every figure through the real `joon serve`
// (dist/cli.js) in its own process, with the SQLite figure of the same run and method beside it:
// - pgbench -N -c 16 on the same server: what this PostgreSQL does here, the turns floor's unit;
// - turns/s: start + three replies per conversation (the bot of bench/http.mjs), 50
//   connections, against SQLite (one instance), PostgreSQL with one instance, and PostgreSQL
//   with two instances on one database (25 connections to each);
// - deliveries/s: a backlog of deliveries written to the outbox beforehand, drained by the
//   instances' workers to a local receiver; the same three set-ups.
// Each PostgreSQL measurement gets a fresh database (`joon_bench_<random>`, dropped after).
// Every set-up runs BENCH_ROUNDS times (default 2), interleaved, and its best run is kept.
// Prints one JSON line per measurement (read by tools/bench.mjs). BENCH_SECONDS sets each turns
// run (default 8), BENCH_DELIVERIES the backlog (default 10000), BENCH_WEBHOOKS how many
// webhooks it is spread over (default 1, as in bench/deliveries.mjs), BENCH_ONLY=turns or
// deliveries runs one half, JOON_TEST_DATABASE_URL the server (default
// postgres://postgres@127.0.0.1:5432/test; the benchmark's databases are made beside it).
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import pg from 'pg'
import { PostgresStore } from '../dist/store/postgres.js'
import { SqliteStore } from '../dist/store/sqlite.js'

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8)
const DELIVERIES = Number(process.env.BENCH_DELIVERIES ?? 10_000)
const WEBHOOKS = Number(process.env.BENCH_WEBHOOKS ?? 1)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2)
const CONNECTIONS = 50
const SERVER_URL = process.env.JOON_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url))
const round = (n, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

// ---- set-up ------------------------------------------------------------------------------

function withDatabase(url, name) {
  const parsed = new URL(url)
  parsed.pathname = `/${name}`
  return parsed.toString()
}

async function maintenance(sql) {
  const client = new pg.Client({
    connectionString: withDatabase(SERVER_URL, 'postgres'),
    connectionTimeoutMillis: 5_000,
  })
  try {
    await client.connect()
  } catch (error) {
    throw new Error(
      `PostgreSQL is not reachable at ${SERVER_URL} (${error.message}); start it with ` +
        '`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql | head -n 1) main start`',
    )
  }
  try {
    await client.query(sql)
  } finally {
    await client.end()
  }
}

/** A place to keep data: a fresh PostgreSQL database, or a SQLite file in a temporary folder. */
async function freshStorage(kind) {
  const dir = mkdtempSync(join(tmpdir(), 'joon-bench-pg-'))
  mkdirSync(join(dir, 'bots'))
  const ask = (id, next) => ({
    id,
    type: 'question',
    answer: 'text',
    text: `Question ${id}?`,
    saveAnswerTo: id,
    next,
  })
  const bot = {
    id: 'bench',
    start: 'q1',
    blocks: [
      ask('q1', 'q2'),
      ask('q2', 'q3'),
      ask('q3', 'bye'),
      { id: 'bye', type: 'text', text: 'Thanks {{q1}}' },
    ],
  }
  writeFileSync(join(dir, 'bots', 'bench.json'), JSON.stringify(bot))
  const args = ['--bots', join(dir, 'bots')]
  if (kind === 'sqlite') {
    const file = join(dir, 'joon.db')
    return {
      args: [...args, '--data', file],
      env: {},
      open: async () => SqliteStore.open(file),
      dispose: async () => rmSync(dir, { recursive: true, force: true }),
    }
  }
  const name = `joon_bench_${randomBytes(6).toString('hex')}`
  await maintenance(`CREATE DATABASE ${name}`)
  const url = withDatabase(SERVER_URL, name)
  return {
    args,
    env: { JOON_DATABASE_URL: url },
    open: () => PostgresStore.open(url, { maxConnections: 4 }),
    dispose: async () => {
      rmSync(dir, { recursive: true, force: true })
      await maintenance(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    },
  }
}

/** Starts `joon serve` and resolves once it listens. */
function startJoon(storage) {
  const child = spawn(
    process.execPath,
    [cli, 'serve', '--port', '0', '--host', '127.0.0.1', ...storage.args],
    {
      env: {
        ...process.env,
        JOON_RATE_LIMIT: '0',
        JOON_ALLOW_PRIVATE_URLS: '1',
        JOON_ADMIN_TOKEN: '',
        ...storage.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  let output = ''
  const keep = (chunk) => {
    output = (output + chunk).slice(-8_000)
  }
  child.stdout.on('data', keep)
  child.stderr.on('data', keep)
  const exited = new Promise((resolve) =>
    child.on('exit', (code, signal) => resolve(code ?? signal)),
  )
  const url = new Promise((resolve, reject) => {
    child.stdout.on('data', () => {
      const match = /listening on (http:\/\/\S+)/.exec(output)
      if (match) resolve(match[1])
    })
    exited.then((code) => reject(new Error(`joon exited (${code}) before listening:\n${output}`)))
  })
  return {
    url,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      const code = await exited
      if (code !== 0) throw new Error(`joon exited ${code}:\n${output}`)
    },
  }
}

async function startInstances(storage, count) {
  const instances = Array.from({ length: count }, () => startJoon(storage))
  const urls = await Promise.all(instances.map((instance) => instance.url))
  return { urls, stop: () => Promise.all(instances.map((instance) => instance.stop())) }
}

/** The webhook receiver of bench/deliveries.mjs in its own process: reads the body, answers 204. */
function startReceiver() {
  const script = fileURLToPath(new URL('./deliveries.mjs', import.meta.url))
  const child = spawn(process.execPath, [script, 'receiver'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const url = new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      // It answers any path; this benchmark adds its own.
      const match = /ready (\S+?)(\/hook)?\s/.exec(String(chunk))
      if (match) resolve(match[1])
    })
    child.on('exit', (code) => reject(new Error(`receiver exited ${code}`)))
  })
  return {
    url,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', resolve)
        child.kill('SIGTERM')
      }),
  }
}

// ---- measurements ------------------------------------------------------------------------

/** Conversations of start + three replies on one instance, `connections` at once. */
function load(url, connections) {
  const reply = (text) => ({
    method: 'POST',
    path: '/api/v1/conversations/ID/replies',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ text }),
    setupRequest: (request, context) => ({
      ...request,
      path: request.path.replace('ID', context.id),
    }),
  })
  return new Promise((resolve, reject) =>
    autocannon(
      {
        url,
        connections,
        duration: SECONDS,
        requests: [
          {
            method: 'POST',
            path: '/api/v1/bots/bench/conversations',
            headers: { 'content-type': 'application/json' },
            body: '{}',
            onResponse: (_status, body, context) => {
              context.id = JSON.parse(body).conversationId
            },
          },
          reply('Ada'),
          reply('Lovelace'),
          reply('London'),
        ],
      },
      (error, result) => (error ? reject(error) : resolve(result)),
    ),
  )
}

/** Turns/s over `count` instances (the connections split evenly between them). */
async function turns(kind, count) {
  const storage = await freshStorage(kind)
  try {
    const running = await startInstances(storage, count)
    const results = await Promise.all(
      running.urls.map((url) => load(url, Math.round(CONNECTIONS / count))),
    )
    await running.stop()
    return {
      turnsPerSecond: Math.round(results.reduce((sum, r) => sum + r.requests.average, 0)),
      p50ms: Math.max(...results.map((r) => r.latency.p50)),
      p99ms: Math.max(...results.map((r) => r.latency.p99)),
      errors: results.reduce((sum, r) => sum + r.errors + r.non2xx, 0),
    }
  } finally {
    await storage.dispose()
  }
}

const STATE = {
  v: 1,
  botId: 'bench',
  at: null,
  waiting: null,
  ended: true,
  context: [],
  messages: [],
  calls: 0,
}

/** Writes `DELIVERIES` pending deliveries, then times `count` instances draining them. */
async function deliveries(kind, count, receiverUrl) {
  const storage = await freshStorage(kind)
  try {
    const store = await storage.open()
    for (let w = 0; w < WEBHOOKS; w++) {
      await store.putWebhook({
        name: `crm-${w}`,
        url: `${receiverUrl}/hook/${w}`,
        timeoutMs: 10_000,
      })
    }
    const body = JSON.stringify({
      email: 'nicolas@joonbot.com',
      phone_number: '0612345678',
      conversation: 'Bot: What is your email address?\nUser: nicolas@joonbot.com\n',
    })
    const now = Date.now()
    const CHUNK = 2_000
    for (let start = 0; start < DELIVERIES; start += CHUNK) {
      const outbox = []
      for (let i = start; i < Math.min(DELIVERIES, start + CHUNK); i++) {
        outbox.push({
          id: `msg_${i}`,
          webhook: `crm-${i % WEBHOOKS}`,
          conversationId: `c_${start}`,
          async: true,
          body,
          createdAt: now,
        })
      }
      await store.createConversation(
        { id: `c_${start}`, botId: 'bench', state: STATE, now },
        outbox,
      )
    }

    const startedAt = performance.now()
    const running = await startInstances(storage, count)
    const marks = {}
    let delivered = 0
    for (;;) {
      await sleep(50)
      delivered = await store.countDeliveries({ status: 'delivered' })
      const at = performance.now() - startedAt
      if (delivered >= DELIVERIES * 0.1) marks.p10 ??= { at, delivered }
      if (delivered >= DELIVERIES * 0.9) marks.p90 ??= { at, delivered }
      if (delivered >= DELIVERIES) break
      if (at > 180_000) throw new Error(`only ${delivered} of ${DELIVERIES} delivered in 180 s`)
    }
    const totalMs = performance.now() - startedAt
    await running.stop()
    const failed = await store.countDeliveries({ status: 'failed' })
    await store.close()
    return {
      deliveries: DELIVERIES,
      webhooks: WEBHOOKS,
      totalMs: Math.round(totalMs),
      overallPerSecond: Math.round((DELIVERIES / totalMs) * 1000),
      sustainedPerSecond: Math.round(
        ((marks.p90.delivered - marks.p10.delivered) / (marks.p90.at - marks.p10.at)) * 1000,
      ),
      failed,
    }
  } finally {
    await storage.dispose()
  }
}

// ---- main --------------------------------------------------------------------------------

const SETUPS = [
  { name: 'sqlite-1', kind: 'sqlite', instances: 1 },
  { name: 'postgres-1', kind: 'postgres', instances: 1 },
  { name: 'postgres-2', kind: 'postgres', instances: 2 },
]

/**
 * Runs every set-up ROUNDS times, interleaved, and keeps each one's best run: the machine is
 * shared, and noise from elsewhere only ever slows a run down.
 */
async function bestOf(measure, rateOf) {
  const best = {}
  for (let round = 0; round < ROUNDS; round++) {
    for (const setup of SETUPS) {
      const result = await measure(setup)
      if (!best[setup.name] || rateOf(result) > rateOf(best[setup.name])) best[setup.name] = result
    }
  }
  return best
}

function report(kind, best, rateOf) {
  for (const setup of SETUPS) {
    const result = best[setup.name]
    console.log(
      JSON.stringify({
        name: `${kind}-${setup.name}`,
        instances: setup.instances,
        ...result,
        ratioToSqlite: round(rateOf(result) / rateOf(best['sqlite-1'])),
        ...(setup.instances > 1
          ? { ratioToOneInstance: round(rateOf(result) / rateOf(best['postgres-1'])) }
          : {}),
        bestOf: ROUNDS,
        cores: availableParallelism(),
      }),
    )
  }
}

/**
 * What this PostgreSQL does on this box: `pgbench -N -c 16` (simple updates, 16 clients) on a
 * fresh database, as many seconds as a turns run. Null when pgbench is not installed.
 */
async function pgbenchTps() {
  const name = `joon_bench_${randomBytes(6).toString('hex')}`
  await maintenance(`CREATE DATABASE ${name}`)
  const url = withDatabase(SERVER_URL, name)
  const run = (args) =>
    new Promise((resolve) => {
      const child = spawn('pgbench', [...args, url], { stdio: ['ignore', 'pipe', 'ignore'] })
      let output = ''
      child.stdout.on('data', (chunk) => {
        output += chunk
      })
      child.on('error', () => resolve(null))
      child.on('close', (code) => resolve(code === 0 ? output : null))
    })
  try {
    if ((await run(['-i', '-q'])) === null) return null
    const output = await run(['-N', '-c', '16', '-j', '2', '-T', String(SECONDS)])
    const tps = output && /tps = ([\d.]+)/.exec(output)
    return tps ? Math.round(Number(tps[1])) : null
  } finally {
    await maintenance(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
  }
}

async function main() {
  const only = process.env.BENCH_ONLY
  if (only !== 'deliveries') {
    const rate = (result) => result.turnsPerSecond
    const best = await bestOf((setup) => turns(setup.kind, setup.instances), rate)
    report('turns', best, rate)
    const tps = await pgbenchTps()
    if (tps !== null) {
      console.log(
        JSON.stringify({
          name: 'pgbench-N-c16',
          tps,
          turnsPostgres1Ratio: round(best['postgres-1'].turnsPerSecond / tps),
        }),
      )
    }
  }
  if (only !== 'turns') {
    const receiver = startReceiver()
    const receiverUrl = await receiver.url
    try {
      const rate = (result) => result.sustainedPerSecond
      const best = await bestOf(
        (setup) => deliveries(setup.kind, setup.instances, receiverUrl),
        rate,
      )
      report('deliveries', best, rate)
    } finally {
      await receiver.stop()
    }
  }
}

await main()
