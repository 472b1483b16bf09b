// Streamed turns, through the real `joon serve` (dist/cli.js) in its own process:
// - first delta: from the moment the model server (tools/model-fixture.mjs, in this process)
//   writes the first token of an answer to the moment the client reads it as a `delta` event
//   (target: under 5 ms p50);
// - first instruction: from the request of a turn whose text block comes before a slow
//   synchronous webhook (200 ms) to the client reading that text's `instruction` event, beside
//   the same turn's whole answer as JSON (target: under 5 ms p50);
// Timestamps come from the monotonic clock (process.hrtime), which every process on a machine
// shares. BENCH_TURNS sets the samples of each (default 200, after 20 not counted).
// Prints one JSON line (read by tools/bench.mjs).
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startModelFixture } from '../../../tools/model-fixture.mjs'

const TURNS = Number(process.env.BENCH_TURNS ?? 200)
const WARM_UP = 20
const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url))
const nowMs = () => Number(process.hrtime.bigint()) / 1e6
const round = (n) => Math.round(n * 100) / 100

/** The first-token instants, in the order the fixture wrote them. */
const firstTokens = []
const fixture = await startModelFixture(() => ({
  text: ['Hello', ' there', ', how can I help?'],
  chunkDelayMs: 1,
  onFirstToken: () => firstTokens.push(nowMs()),
}))
// A slow synchronous webhook.
const receiver = createServer((request, response) => {
  request.resume()
  request.on('end', () =>
    setTimeout(() => {
      response.writeHead(200, { 'content-type': 'application/json' })
      response.end('{"status":"ok"}')
    }, 200),
  )
})
await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve))
const receiverUrl = `http://127.0.0.1:${receiver.address().port}/hook`

const dir = mkdtempSync(join(tmpdir(), 'joon-bench-streaming-'))
mkdirSync(join(dir, 'bots'))
writeFileSync(
  join(dir, 'models.json'),
  JSON.stringify([{ name: 'fixture', baseUrl: fixture.baseUrl, model: 'm' }]),
)
writeFileSync(join(dir, 'webhooks.json'), JSON.stringify([{ name: 'slow', url: receiverUrl }]))
writeFileSync(
  join(dir, 'bots', 'ai.json'),
  JSON.stringify({
    id: 'ai',
    start: 'answer',
    blocks: [{ id: 'answer', type: 'ai', model: 'fixture', instructions: 'Help.' }],
  }),
)
writeFileSync(
  join(dir, 'bots', 'slow.json'),
  JSON.stringify({
    id: 'slow',
    start: 'hello',
    blocks: [
      { id: 'hello', type: 'text', text: 'Let me check…', next: 'check' },
      { id: 'check', type: 'webhook', webhook: 'slow' },
    ],
  }),
)
const child = spawn(
  process.execPath,
  [
    ...[cli, 'serve', '--port', '0', '--host', '127.0.0.1', '--data', join(dir, 'joon.db')],
    ...['--bots', join(dir, 'bots'), '--models', join(dir, 'models.json')],
    ...['--webhooks', join(dir, 'webhooks.json')],
  ],
  {
    env: { ...process.env, JOON_RATE_LIMIT: '0', JOON_ALLOW_PRIVATE_URLS: '1' },
    stdio: ['ignore', 'pipe', 'inherit'],
  },
)
const url = await new Promise((resolve) => {
  let output = ''
  child.stdout.on('data', (chunk) => {
    output += chunk
    const match = /listening on (http:\/\/\S+)/.exec(output)
    if (match) resolve(match[1])
  })
})

/** Starts a conversation as a stream; resolves with the instant each event was read. */
async function streamedStart(botId, until) {
  const response = await fetch(`${url}/api/v1/bots/${botId}/conversations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
    body: '{}',
  })
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
  let buffer = ''
  for (;;) {
    const { value, done } = await reader.read()
    if (done) return null
    buffer += value
    const match = /event: (\w+)/.exec(buffer)
    if (match && match[1] === until) {
      const at = nowMs()
      await reader.cancel()
      return at
    }
  }
}

const median = (values) => values.toSorted((a, b) => a - b)[values.length >> 1]
const p99 = (values) => values.toSorted((a, b) => a - b)[Math.floor(values.length * 0.99)]
try {
  const deltas = []
  for (let i = 0; i < TURNS + WARM_UP; i++) {
    const seen = await streamedStart('ai', 'delta')
    const wrote = firstTokens.at(-1)
    if (i >= WARM_UP) deltas.push(seen - wrote)
  }
  const instructions = []
  const wholes = []
  for (let i = 0; i < TURNS + WARM_UP; i++) {
    const sent = nowMs()
    const seen = await streamedStart('slow', 'instruction')
    if (i >= WARM_UP) instructions.push(seen - sent)
    if (i % 10 === 0) {
      const asked = nowMs()
      const answer = await fetch(`${url}/api/v1/bots/slow/conversations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      })
      await answer.text()
      wholes.push(nowMs() - asked)
    }
  }
  console.log(
    JSON.stringify({
      name: 'streamed-turns',
      firstDeltaP50ms: round(median(deltas)),
      firstDeltaP99ms: round(p99(deltas)),
      firstInstructionP50ms: round(median(instructions)),
      firstInstructionP99ms: round(p99(instructions)),
      wholeJsonTurnP50ms: round(median(wholes)),
      samples: TURNS,
    }),
  )
} finally {
  child.kill('SIGTERM')
  await new Promise((resolve) => child.on('exit', resolve))
  await fixture.close()
  receiver.close()
  rmSync(dir, { recursive: true, force: true })
}
