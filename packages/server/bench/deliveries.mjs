// Asynchronous webhook benchmarks of @joon/server, run against dist/:
// - deliveries/s: the worker drains a backlog of signed deliveries from a SQLite store to a local
//   receiver (targets: ≥ 2,000/s sustained);
// - conversation turns/s through `startNodeServer` with an async webhook block in the flow
//   against the same flow without it (target: ≥ 80%), the worker sending meanwhile: with a
//   delivery on every turn (the worst case) and after every three answers (the lead-gen shape).
// Every part runs in its own process (receiver, worker, server, load), as in production; the
// server runs its loop as the Node server does (on a SQLite file: on a thread of its own).
// Each turns run also reports the outbox left when the load stops (a worker that fell behind
// would only have moved its work past the measured window) and the CPU per turn of the whole
// server and of its main thread, deliveries included.
// Prints one JSON line per measurement (read by tools/bench.mjs). BENCH_SECONDS sets the
// duration of each turns run (default 4), BENCH_ROUNDS how many rounds of the three bots are
// counted after the warm-up one (default 4), BENCH_DELIVERIES the backlog (default 20000),
// BENCH_DRAIN_ONLY=1 stops after the drain, BENCH_RECEIVER=http receives with node:http.
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import { createServer as createNetServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const self = fileURLToPath(import.meta.url)
const dist = new URL('../dist/', import.meta.url)
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'
const round = (n, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits

/** Starts this script in another role; resolves once it prints `ready <value>`. */
function child(role, ...args) {
  const process_ = spawn(process.execPath, [self, role, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let output = ''
  const ready = new Promise((resolve, reject) => {
    process_.stdout.on('data', (chunk) => {
      output += chunk
      const match = /ready (\S+)/.exec(output)
      if (match) resolve(match[1])
    })
    process_.on('exit', (code) => reject(new Error(`${role} exited ${code}: ${output}`)))
  })
  ready.catch(() => {}) // roles that never print `ready` just exit with their result
  // A failed run must not leave the receiver or the server behind.
  process.once('exit', () => process_.kill('SIGKILL'))
  const result = new Promise((resolve, reject) => {
    process_.on('exit', (code) => {
      const line = output.split('\n').find((text) => text.startsWith('{'))
      if (code === 0 && line) resolve(JSON.parse(line))
      else if (code !== null && code !== 0) reject(new Error(`${role} exited ${code}: ${output}`))
      else resolve(null)
    })
  })
  /**
   * The child's CPU time in µs, all threads and its main thread alone (a `server` child answers
   * SIGUSR2 with a `cpu` line).
   */
  const cpu = () =>
    new Promise((resolve) => {
      const onData = (chunk) => {
        const match = /cpu (\d+) (\d+) (\d+)/.exec(String(chunk))
        if (!match) return
        process_.stdout.off('data', onData)
        resolve({ all: Number(match[1]), main: Number(match[2]), pending: Number(match[3]) })
      }
      process_.stdout.on('data', onData)
      process_.kill('SIGUSR2')
    })
  return {
    ready,
    result,
    cpu,
    stop: () =>
      new Promise((resolve) => {
        if (process_.exitCode !== null) return resolve()
        process_.once('exit', resolve)
        process_.kill('SIGTERM')
      }),
  }
}

// ---- roles -------------------------------------------------------------------------------

/**
 * A webhook receiver answering 204 to every request. By default a minimal HTTP/1.1 responder on
 * raw sockets: node:http's server costs about as much CPU per request as Joon's whole delivery,
 * and on two shared cores the receiver's CPU is taken from the server being measured (in
 * production the receiver runs elsewhere). BENCH_RECEIVER=http uses node:http instead.
 */
function receiver() {
  const server =
    process.env.BENCH_RECEIVER === 'http'
      ? createServer((request, response) => {
          request.resume()
          request.on('end', () => {
            response.statusCode = 204
            response.end()
          })
        })
      : createNetServer(answerEveryRequest)
  server.keepAliveTimeout = 60_000
  server.listen(0, '127.0.0.1', () =>
    console.log(`ready http://127.0.0.1:${server.address().port}/hook`),
  )
  process.on('SIGTERM', () => server.close(() => process.exit(0)))
}

const NO_CONTENT = Buffer.from('HTTP/1.1 204 No Content\r\nkeep-alive: timeout=60\r\n\r\n')

/**
 * Reads requests off a kept-alive connection (headers, then `content-length` bytes of body;
 * what Joon sends) and answers each with a 204, in order. Anything else closes the connection.
 */
function answerEveryRequest(socket) {
  let buffered = Buffer.alloc(0)
  let bodyLeft = -1
  socket.on('error', () => {})
  socket.on('data', (chunk) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk])
    let replies = 0
    for (;;) {
      if (bodyLeft < 0) {
        const end = buffered.indexOf('\r\n\r\n')
        if (end < 0) break
        const length = /\r\ncontent-length: *(\d+)/i.exec(buffered.toString('latin1', 0, end))
        if (!length) return socket.destroy()
        bodyLeft = Number(length[1])
        buffered = buffered.subarray(end + 4)
      }
      if (buffered.length < bodyLeft) break
      buffered = buffered.subarray(bodyLeft)
      bodyLeft = -1
      replies++
    }
    if (replies === 1) socket.write(NO_CONTENT)
    else if (replies > 1) socket.write(Buffer.concat(Array(replies).fill(NO_CONTENT)))
  })
}

/** Fills a SQLite outbox with `count` deliveries, then times the worker draining it. */
async function drain(url, count) {
  const { SqliteStore } = await import(new URL('store/sqlite.js', dist))
  const dir = mkdtempSync(join(tmpdir(), 'joon-bench-deliveries-'))
  const store = SqliteStore.open(join(dir, 'joon.db'))
  await store.putWebhook({ name: 'crm', url, secret: SECRET, timeoutMs: 10_000 })
  const now = Date.now()
  const body = JSON.stringify({
    email: 'nicolas@joonbot.com',
    phone_number: '0612345678',
    conversation: 'Bot: What is your email address?\nUser: nicolas@joonbot.com\n',
  })
  // 500 at a time: writes issued together share a commit.
  for (let start = 0; start < count; start += 500) {
    const chunk = []
    for (let i = start; i < Math.min(count, start + 500); i++) {
      chunk.push(
        store.recordDelivery({
          id: `msg_${i}`,
          webhook: 'crm',
          conversationId: `c_${i}`,
          async: true,
          body,
          createdAt: now,
        }),
      )
    }
    await Promise.all(chunk)
  }
  const failures = []
  const log = (event, fields) => failures.push({ event, ...fields })
  const concurrency = process.env.BENCH_CONCURRENCY
    ? { concurrency: Number(process.env.BENCH_CONCURRENCY) }
    : {}
  const cpuBefore = process.cpuUsage()
  const mainBefore = mainThreadCpuMicros()
  const startedAt = performance.now()
  // The loop itself, on this process's main thread (the server runs the same loop on a thread
  // of its own for a SQLite file: its drain rate is this one's).
  const { createWebhookSender } = await import(new URL('delivery/send.js', dist))
  const { startDeliveryWorker } = await import(new URL('delivery/worker.js', dist))
  const sender = createWebhookSender({ allowPrivate: true, userAgent: 'joon/bench' })
  const worker = startDeliveryWorker({ store, sender, owner: 'bench', ...concurrency, log })
  // Sampled progress: the sustained rate is taken between 10% and 90% of the backlog.
  const marks = {}
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 50))
    // Counted from the live queue's partial indexes: counting delivered rows would scan the
    // table on the thread that records the outcomes, every 50 ms.
    const left =
      (await store.countDeliveries({ status: 'pending' })) +
      (await store.countDeliveries({ status: 'failed' }))
    const delivered = count - left
    const at = performance.now() - startedAt
    if (delivered >= count * 0.1) marks.p10 ??= { at, delivered }
    if (delivered >= count * 0.9) marks.p90 ??= { at, delivered }
    if (delivered >= count) break
    if (at > 120_000) throw new Error(`only ${delivered} of ${count} delivered in 120 s`)
  }
  const totalMs = performance.now() - startedAt
  const cpu = process.cpuUsage(cpuBefore)
  const mainCpu = mainThreadCpuMicros() - mainBefore
  await worker.stop()
  await sender?.close()
  await store.close()
  rmSync(dir, { recursive: true, force: true })
  console.log(
    JSON.stringify({
      deliveries: count,
      totalMs: Math.round(totalMs),
      overallPerSecond: Math.round((count / totalMs) * 1000),
      sustainedPerSecond: Math.round(
        ((marks.p90.delivered - marks.p10.delivered) / (marks.p90.at - marks.p10.at)) * 1000,
      ),
      // The worker's process only (the receiver runs in its own), 50 ms progress polls included.
      cpuMicrosPerDelivery: round((cpu.user + cpu.system) / count, 1),
      mainThreadCpuMicrosPerDelivery: round(mainCpu / count, 1),
      workerLogLines: failures.length,
      ...(failures.length > 0 ? { firstLogLine: failures[0] } : {}),
    }),
  )
}

/**
 * What the async block adds to the turn's own write: `updateConversation` with one delivery
 * in its outbox against the same update alone (µs each, best of two rounds).
 */
async function outboxWrite() {
  const { SqliteStore } = await import(new URL('store/sqlite.js', dist))
  const dir = mkdtempSync(join(tmpdir(), 'joon-bench-outbox-'))
  const store = SqliteStore.open(join(dir, 'joon.db'))
  const state = {
    v: 1,
    botId: 'b',
    at: 'ask',
    waiting: 'input',
    ended: false,
    context: [['a', 'x']],
    messages: [{ from: 'bot', text: 'Anything else?' }],
    calls: 0,
  }
  const body = JSON.stringify({ a: 'Tell me more', conversation: 'Bot: Anything else?\n' })
  const count = 3_000
  const best = { plain: Number.POSITIVE_INFINITY, outbox: Number.POSITIVE_INFINITY }
  let n = 0
  for (const kind of ['plain', 'outbox', 'plain', 'outbox']) {
    const ids = []
    for (let i = 0; i < count; i++) {
      ids.push(`c_${n++}`)
      await store.createConversation({ id: ids[i], botId: 'b', state, now: Date.now() })
    }
    const startedAt = performance.now()
    for (const id of ids) {
      const outbox =
        kind === 'outbox'
          ? [
              {
                id: `m_${id}`,
                webhook: 'crm',
                conversationId: id,
                async: true,
                body,
                createdAt: Date.now(),
              },
            ]
          : []
      await store.updateConversation({ id, expectedVersion: 1, state, now: Date.now() }, outbox)
    }
    best[kind] = Math.min(best[kind], ((performance.now() - startedAt) / count) * 1000)
  }
  await store.close()
  rmSync(dir, { recursive: true, force: true })
  console.log(
    JSON.stringify({
      updateMicros: round(best.plain, 1),
      updateWithOutboxMicros: round(best.outbox, 1),
    }),
  )
}

/** The real Node server (worker included) on SQLite, with a plain loop and an async one. */
async function server(url) {
  const { SqliteStore } = await import(new URL('store/sqlite.js', dist))
  const { startNodeServer } = await import(new URL('node.js', dist))
  const dir = mkdtempSync(join(tmpdir(), 'joon-bench-turns-'))
  const store = SqliteStore.open(join(dir, 'joon.db'))
  await store.putWebhook({ name: 'crm', url, secret: SECRET, timeoutMs: 10_000 })
  const ask = { id: 'ask', type: 'question', answer: 'text', text: 'Anything else?' }
  await store.putBot({
    id: 'plain',
    start: 'ask',
    blocks: [{ ...ask, saveAnswerTo: 'a', next: 'ask' }],
  })
  await store.putBot({
    id: 'async',
    start: 'ask',
    blocks: [
      { ...ask, saveAnswerTo: 'a', next: 'notify' },
      { id: 'notify', type: 'webhook', webhook: 'crm', async: true, next: 'ask' },
    ],
  })
  // The lead-generation shape: three answers, then one asynchronous delivery.
  await store.putBot({
    id: 'lead',
    start: 'q1',
    blocks: [
      { ...ask, id: 'q1', saveAnswerTo: 'a', next: 'q2' },
      { ...ask, id: 'q2', saveAnswerTo: 'b', next: 'q3' },
      { ...ask, id: 'q3', saveAnswerTo: 'c', next: 'notify' },
      { id: 'notify', type: 'webhook', webhook: 'crm', async: true, next: 'q1' },
    ],
  })
  const running = await startNodeServer({
    store,
    port: 0,
    host: '127.0.0.1',
    adminToken: ADMIN_TOKEN,
    allowPrivateUrls: true,
    rateLimit: 0,
    ...(process.env.BENCH_CONCURRENCY
      ? { deliveryConcurrency: Number(process.env.BENCH_CONCURRENCY) }
      : {}),
  })
  // SIGUSR2: print the CPU time used so far, so runs can be compared on the server's own
  // work, without the share of the two cores the load generator and the receiver take.
  // Installed before `ready`: a SIGUSR2 with no listener would end the process.
  process.on('SIGUSR2', async () => {
    const { user, system } = process.cpuUsage()
    const main = mainThreadCpuMicros()
    const pending = await store.countDeliveries({ status: 'pending' })
    console.log(`cpu ${user + system} ${main} ${pending}`)
  })
  process.on('SIGTERM', async () => {
    await running.close()
    rmSync(dir, { recursive: true, force: true })
    process.exit(0)
  })
  console.log(`ready ${running.url}`)
}

const ADMIN_TOKEN = 'bench'

/**
 * The main thread's CPU time in µs (Linux: /proc, 10 ms ticks), the thread that answers the
 * chat; the process's total also counts the delivery thread. 0 where /proc is missing.
 */
function mainThreadCpuMicros() {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) * 10_000
  } catch {
    return 0
  }
}

/** Turns/s for one bot: each connection starts a conversation, then replies nine times. */
async function turns(url, bot, seconds) {
  const { default: autocannon } = await import('autocannon')
  const reply = {
    method: 'POST',
    path: '/api/v1/conversations/ID/replies',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ text: 'Tell me more' }),
    setupRequest: (request, context) => ({
      ...request,
      path: request.path.replace('ID', context.id),
    }),
  }
  const result = await new Promise((resolve, reject) =>
    autocannon(
      {
        url,
        connections: 50,
        duration: seconds,
        requests: [
          {
            method: 'POST',
            path: `/api/v1/bots/${bot}/conversations`,
            headers: { 'content-type': 'application/json' },
            body: '{}',
            onResponse: (_status, body, context) => {
              context.id = JSON.parse(body).conversationId
            },
          },
          ...Array(9).fill(reply),
        ],
      },
      (error, done) => (error ? reject(error) : resolve(done)),
    ),
  )
  return {
    totalTurns: result.requests.total,
    turnsPerSecond: Math.round(result.requests.average),
    p99ms: result.latency.p99,
    errors: result.errors + result.non2xx,
  }
}

async function waitForEmptyOutbox(url) {
  const started = performance.now()
  while ((await pendingCount(url)) > 0 && performance.now() - started < 60_000) {
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

async function pendingCount(url) {
  const response = await fetch(`${url}/api/v1/admin/deliveries?status=pending&limit=1000`, {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  })
  return (await response.json()).deliveries.length
}

// ---- main --------------------------------------------------------------------------------

async function main() {
  const count = Number(process.env.BENCH_DELIVERIES ?? 20_000)
  const seconds = Number(process.env.BENCH_SECONDS ?? 4)
  const roundCount = Number(process.env.BENCH_ROUNDS ?? 4)
  const target = child('receiver')
  const url = await target.ready

  const drained = await child('drain', url, String(count)).result
  console.log(JSON.stringify({ name: 'deliveries-sqlite', ...drained }))
  if (process.env.BENCH_DRAIN_ONLY) return target.stop()
  const write = await child('outbox').result
  console.log(JSON.stringify({ name: 'outbox-write-sqlite', ...write }))

  // Rounds of the three bots back to back, each ratio taken within its round: the machine is
  // shared and its speed drifts by tens of percent over a minute, which best-of-N taken at
  // different times would count as a difference. Rounds alternate the order (plain first, then
  // last) so a drift within a round cancels out. A first round warms the JIT up (the delivery
  // thread's code included) and is not counted; the median round is reported.
  const joon = child('server', url)
  const base = await joon.ready
  const rounds = []
  for (let n = 0; n <= roundCount; n++) {
    const round = {}
    const order = ['plain', 'lead', 'async']
    for (const bot of n % 2 === 0 ? order.toReversed() : order) {
      await waitForEmptyOutbox(base)
      const cpuBefore = await joon.cpu()
      const run = await turns(base, bot, seconds)
      // Deliveries still waiting when the load stops: a worker that falls behind would only
      // move its work past the measured window.
      run.pendingAtEnd = (await joon.cpu()).pending
      // The deliveries this run queued are part of its cost: count the CPU until they are sent.
      await waitForEmptyOutbox(base)
      const cpuAfter = await joon.cpu()
      run.serverCpuMicrosPerTurn = (cpuAfter.all - cpuBefore.all) / run.totalTurns
      run.mainThreadCpuMicrosPerTurn = (cpuAfter.main - cpuBefore.main) / run.totalTurns
      round[bot] = run
      if (process.env.BENCH_VERBOSE) console.error(n, bot, JSON.stringify(run))
    }
    if (n > 0) rounds.push(round)
  }
  const median = (values) => {
    const sorted = [...values].sort((a, b) => a - b)
    const middle = sorted.length >> 1
    return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
  }
  const ratios = (bot) => rounds.map((r) => r[bot].turnsPerSecond / r.plain.turnsPerSecond)
  const of = (bot, field) => median(rounds.map((r) => r[bot][field]))
  // The worker keeps up: how long the outbox takes to empty once the load stops.
  const stoppedAt = performance.now()
  let pending = await pendingCount(base)
  while (pending > 0 && performance.now() - stoppedAt < 60_000) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    pending = await pendingCount(base)
  }
  console.log(
    JSON.stringify({
      name: 'turns-async-vs-plain',
      rounds: rounds.length,
      plainTurnsPerSecond: of('plain', 'turnsPerSecond'),
      // One delivery after three answers, as in the lead-generation bot: median of the rounds'
      // ratios, then each round's.
      leadShapeTurnsPerSecond: of('lead', 'turnsPerSecond'),
      leadShapeRatio: round(median(ratios('lead'))),
      leadShapeRatios: ratios('lead').map((ratio) => round(ratio)),
      // The same ratio in server CPU per turn, every delivery counted until it is sent: unlike
      // turns/s, a worker that moves its sending past the measured window gains nothing here.
      leadShapeCpuRatio: round(
        median(rounds.map((r) => r.plain.serverCpuMicrosPerTurn / r.lead.serverCpuMicrosPerTurn)),
      ),
      // A delivery on every turn: the worst case.
      asyncTurnsPerSecond: of('async', 'turnsPerSecond'),
      ratio: round(median(ratios('async'))),
      ratios: ratios('async').map((ratio) => round(ratio)),
      // Server CPU per turn, its deliveries included, all threads and the main thread alone
      // (the one that answers the chat).
      plainCpuMicrosPerTurn: round(of('plain', 'serverCpuMicrosPerTurn'), 1),
      leadShapeCpuMicrosPerTurn: round(of('lead', 'serverCpuMicrosPerTurn'), 1),
      asyncCpuMicrosPerTurn: round(of('async', 'serverCpuMicrosPerTurn'), 1),
      plainMainCpuMicrosPerTurn: round(of('plain', 'mainThreadCpuMicrosPerTurn'), 1),
      leadShapeMainCpuMicrosPerTurn: round(of('lead', 'mainThreadCpuMicrosPerTurn'), 1),
      asyncMainCpuMicrosPerTurn: round(of('async', 'mainThreadCpuMicrosPerTurn'), 1),
      plainP99ms: of('plain', 'p99ms'),
      leadShapeP99ms: of('lead', 'p99ms'),
      asyncP99ms: of('async', 'p99ms'),
      leadShapePendingAtEnd: Math.max(...rounds.map((r) => r.lead.pendingAtEnd)),
      asyncPendingAtEnd: Math.max(...rounds.map((r) => r.async.pendingAtEnd)),
      errors: rounds.reduce((sum, r) => sum + r.plain.errors + r.lead.errors + r.async.errors, 0),
      outboxEmptyAfterMs: pending === 0 ? Math.round(performance.now() - stoppedAt) : null,
    }),
  )
  await joon.stop()
  await target.stop()
}

const [role, ...args] = process.argv.slice(2)
if (role === 'receiver') receiver()
else if (role === 'drain') await drain(args[0], Number(args[1]))
else if (role === 'server') await server(args[0])
else if (role === 'outbox') await outboxWrite()
else await main()
