// HTTP benchmarks of @joon/server, each against a baseline measured in the same run:
// - conversation turns/s (start + three replies per conversation, 50 connections) with the
//   memory and SQLite stores, against a bare Hono JSON echo with the same load tool;
// - the latency a synchronous webhook adds to a turn, against a direct undici POST to the
//   same local receiver.
// Prints a JSON line per measurement (read by tools/bench.mjs).
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import { request } from 'undici'

const DURATION = Number(process.env.BENCH_SECONDS ?? 8)
const CONNECTIONS = 50
const target = fileURLToPath(new URL('./target.mjs', import.meta.url))

async function start(...args) {
  const child = spawn(process.execPath, [target, ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
  const url = await new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      const match = /ready (\S+)/.exec(String(chunk))
      if (match) resolve(match[1])
    })
    child.on('exit', (code) => reject(new Error(`target ${args[0]} exited ${code}`)))
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

function load(options) {
  return new Promise((resolve, reject) => {
    autocannon({ connections: CONNECTIONS, duration: DURATION, ...options }, (error, result) =>
      error ? reject(error) : resolve(result),
    )
  })
}

const summary = (name, result, extra = {}) => ({
  name,
  requestsPerSecond: Math.round(result.requests.average),
  p50ms: result.latency.p50,
  p99ms: result.latency.p99,
  errors: result.errors + result.non2xx,
  ...extra,
})

async function echo() {
  const server = await start('echo')
  const result = await load({
    url: `${server.url}/echo`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ text: 'hello' }),
  })
  await server.stop()
  return summary('hono-echo', result)
}

async function turns(store) {
  const server = await start(store)
  // Each connection runs whole conversations: a start, then three replies to its id.
  const reply = (text) => ({
    method: 'POST',
    path: '/api/v1/conversations/ID/replies',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ text }),
    setupRequest: (req, context) => ({ ...req, path: req.path.replace('ID', context.id) }),
  })
  const result = await load({
    url: server.url,
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
  })
  await server.stop()
  return summary(`turns-${store}`, result)
}

async function latency(send, count = 400) {
  const samples = []
  for (let i = 0; i < count + 50; i++) {
    const started = performance.now()
    await send()
    if (i >= 50) samples.push(performance.now() - started)
  }
  samples.sort((a, b) => a - b)
  return { p50: samples[Math.floor(count / 2)], p99: samples[Math.floor(count * 0.99)] }
}

async function syncWebhook() {
  const receiver = await start('receiver')
  const server = await start('memory', `${receiver.url}/hook`)
  const post = (url, body) =>
    request(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body }).then(
      (r) => r.body.text(),
    )
  const direct = await latency(() =>
    post(`${receiver.url}/hook`, '{"email":"a@b.co","conversation":"Bot: hi\\n"}'),
  )
  const started = JSON.parse(await post(`${server.url}/api/v1/bots/bench-sync/conversations`, '{}'))
  const turnPath = `${server.url}/api/v1/conversations/${started.conversationId}/replies`
  const withWebhook = await latency(() => post(turnPath, '{"text":"again"}'))
  const plain = JSON.parse(await post(`${server.url}/api/v1/bots/bench-loop/conversations`, '{}'))
  const plainPath = `${server.url}/api/v1/conversations/${plain.conversationId}/replies`
  const withoutWebhook = await latency(() => post(plainPath, '{"text":"again"}'))
  await server.stop()
  await receiver.stop()
  return {
    name: 'sync-webhook-latency',
    directPostP50ms: round(direct.p50),
    turnWithWebhookP50ms: round(withWebhook.p50),
    turnWithoutWebhookP50ms: round(withoutWebhook.p50),
    addedByWebhookP50ms: round(withWebhook.p50 - withoutWebhook.p50),
    ratioAddedToDirect: round((withWebhook.p50 - withoutWebhook.p50) / direct.p50),
  }
}

const round = (n) => Math.round(n * 100) / 100

const baseline = await echo()
console.log(JSON.stringify(baseline))
for (const store of ['memory', 'sqlite']) {
  const result = await turns(store)
  console.log(
    JSON.stringify({
      ...result,
      ratioToEcho: round(result.requestsPerSecond / baseline.requestsPerSecond),
    }),
  )
}
console.log(JSON.stringify(await syncWebhook()))
