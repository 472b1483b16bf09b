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
import { createWebhookSender } from '../dist/delivery/send.js'

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'

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
  let cpuMicros = 0
  child.stdout.on('data', (chunk) => {
    const match = /cpu (\d+)/.exec(String(chunk))
    if (match) cpuMicros = Number(match[1])
  })
  return {
    url,
    /** Stops the target; resolves with the CPU time it used (µs). */
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve(cpuMicros))
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

// Each connection runs whole conversations: a start, then three replies to its id. The echo
// baseline gets exactly the same requests, so the load generator's own work is the same.
const reply = (text) => ({
  method: 'POST',
  path: '/api/v1/conversations/ID/replies',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ text }),
  setupRequest: (req, context) => ({ ...req, path: req.path.replace('ID', context.id) }),
})
const conversation = [
  {
    method: 'POST',
    path: '/api/v1/bots/bench/conversations',
    headers: { 'content-type': 'application/json' },
    body: '{"variables":{"conversationId":"echo"}}',
    onResponse: (_status, body, context) => {
      const reply = JSON.parse(body)
      context.id = reply.conversationId ?? reply.variables.conversationId
    },
  },
  reply('Ada'),
  reply('Lovelace'),
  reply('London'),
]

async function turns(kind) {
  const server = await start(kind)
  const result = await load({ url: server.url, requests: conversation })
  const cpuMicros = await server.stop()
  return summary(kind === 'echo' ? 'hono-echo' : `turns-${kind}`, result, {
    serverCpuMicrosPerRequest: round(cpuMicros / result.requests.total),
  })
}

async function latency(send, count = 400, prepare = async () => {}) {
  const samples = []
  for (let i = 0; i < count + 50; i++) {
    await prepare(i)
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
  // A fresh conversation every 10 turns (untimed), so the transcript, and with it the payload,
  // stays the size of a real conversation's instead of growing for 450 turns.
  const loop = (botId) => {
    let path = ''
    return {
      prepare: async (i) => {
        if (i % 10 !== 0) return
        const { conversationId } = JSON.parse(
          await post(`${server.url}/api/v1/bots/${botId}/conversations`, '{}'),
        )
        path = `${server.url}/api/v1/conversations/${conversationId}/replies`
      },
      send: () => post(path, '{"text":"again"}'),
    }
  }
  // The sender alone, called from here like the direct POST: what Joon's guarded, signed call
  // costs over a bare undici request to the same receiver.
  const sender = createWebhookSender({ allowPrivate: true, userAgent: 'joon/bench' })
  const hook = { name: 'hook', url: `${receiver.url}/hook`, timeoutMs: 5000, secret: SECRET }
  const payload = '{"email":"a@b.co","conversation":"Bot: hi\\n"}'
  const viaSender = await latency(() => sender.send(hook, { id: 'msg_bench', body: payload }))
  await sender.close()
  const sync = loop('bench-sync')
  const withWebhook = await latency(sync.send, 400, sync.prepare)
  const plain = loop('bench-loop')
  const withoutWebhook = await latency(plain.send, 400, plain.prepare)
  await server.stop()
  await receiver.stop()
  return {
    name: 'sync-webhook-latency',
    directPostP50ms: round(direct.p50),
    turnWithWebhookP50ms: round(withWebhook.p50),
    turnWithoutWebhookP50ms: round(withoutWebhook.p50),
    addedByWebhookP50ms: round(withWebhook.p50 - withoutWebhook.p50),
    ratioAddedToDirect: round((withWebhook.p50 - withoutWebhook.p50) / direct.p50),
    signedSenderP50ms: round(viaSender.p50),
    ratioSenderToDirect: round(viaSender.p50 / direct.p50),
  }
}

const round = (n) => Math.round(n * 100) / 100

const baseline = await turns('echo')
console.log(JSON.stringify(baseline))
for (const store of ['memory', 'sqlite']) {
  const result = await turns(store)
  console.log(
    JSON.stringify({
      ...result,
      ratioToEcho: round(result.requestsPerSecond / baseline.requestsPerSecond),
      // Server CPU per request, echo's over ours: the ratio without the load generator's share.
      cpuRatioToEcho: round(baseline.serverCpuMicrosPerRequest / result.serverCpuMicrosPerRequest),
    }),
  )
}
console.log(JSON.stringify(await syncWebhook()))
