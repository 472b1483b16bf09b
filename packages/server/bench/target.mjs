// A server under load, in its own process so the load generator does not share its event loop.
// Usage: node target.mjs echo|memory|sqlite|receiver [webhookUrl]
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { createApp } from '../dist/app.js'
import { createWebhookSender } from '../dist/delivery/send.js'
import { MemoryStore } from '../dist/store/memory.js'
import { SqliteStore } from '../dist/store/sqlite.js'

const [kind, webhookUrl] = process.argv.slice(2)
const listen = (fetch) => {
  const server = serve({ fetch, port: 0, hostname: '127.0.0.1' }, (info) => {
    console.log(`ready http://127.0.0.1:${info.port}`)
  })
  // On SIGTERM, report the CPU time this process used, so the load generator's share of the
  // two cores does not hide what the server itself costs per request.
  process.on('SIGTERM', () => {
    const { user, system } = process.cpuUsage()
    console.log(`cpu ${user + system}`)
    server.close(() => process.exit(0))
  })
}

if (kind === 'echo') {
  // The baseline: bare Hono parsing a JSON body and answering it, on any path, so the load
  // generator can send it exactly the requests a conversation sends.
  const app = new Hono().post('*', async (c) => c.json(await c.req.json()))
  listen(app.fetch)
} else if (kind === 'receiver') {
  const app = new Hono().post('/hook', async (c) => {
    await c.req.text()
    return c.json({ delivery_status: 'delivered', delivery_method: 'eco' })
  })
  listen(app.fetch)
} else {
  const store =
    kind === 'sqlite'
      ? SqliteStore.open(join(mkdtempSync(join(tmpdir(), 'joon-bench-')), 'joon.db'))
      : new MemoryStore()
  const resolved = await store
  const sender = createWebhookSender({ allowPrivate: true, userAgent: 'joon/bench' })
  const app = createApp({ store: resolved, sender, rateLimit: 0, conversationRateLimit: 0 })
  await resolved.putWebhook({
    name: 'hook',
    url: webhookUrl ?? 'http://127.0.0.1:9/hook',
    timeoutMs: 5000,
  })
  const ask = (id, next) => ({
    id,
    type: 'question',
    answer: 'text',
    text: `Question ${id}?`,
    saveAnswerTo: id,
    next,
  })
  await resolved.putBot({
    id: 'bench',
    start: 'q1',
    blocks: [
      ask('q1', 'q2'),
      ask('q2', 'q3'),
      ask('q3', 'bye'),
      { id: 'bye', type: 'text', text: 'Thanks {{q1}}' },
    ],
  })
  // The same loop with and without a sync webhook: the difference is what the call costs.
  await resolved.putBot({ id: 'bench-loop', start: 'q1', blocks: [ask('q1', 'q1')] })
  await resolved.putBot({
    id: 'bench-sync',
    start: 'q1',
    blocks: [
      ask('q1', 'call'),
      { id: 'call', type: 'webhook', webhook: 'hook', async: false, next: 'q1' },
    ],
  })
  listen(app.fetch)
}
