import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, expect, it } from 'vitest'
import { createWebhookSender } from '../../src/delivery/send.js'
import { type DeliveryThreadOptions, startDeliveryThread } from '../../src/delivery/thread.js'
import { type DeliveryWorker, startDeliveryWorker } from '../../src/delivery/worker.js'
import { SqliteStore } from '../../src/store/sqlite.js'
import type { NewDelivery } from '../../src/store/types.js'
import { logSink, newSecret, startReceiver, verifySignature, waitFor } from './support.js'

// The delivery loop on its own thread (`thread.ts`), run from the built `dist` as the server
// runs it: `pnpm test:all` builds first.

const cleanups: (() => unknown)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function setUp(reply: 'ok' | 'fail') {
  const dir = mkdtempSync(join(tmpdir(), 'joon-thread-'))
  const path = join(dir, 'joon.db')
  const store = SqliteStore.open(path)
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
  cleanups.push(() => store.close())
  const receiver = await startReceiver((_received, response) => {
    response.writeHead(reply === 'ok' ? 204 : 503).end()
  })
  cleanups.push(() => receiver.close())
  const secret = newSecret()
  await store.putWebhook({ name: 'crm', url: receiver.url, secret, timeoutMs: 5_000 })
  const logs = logSink()
  const calls: unknown[][] = []
  const fallbacks: DeliveryWorker[] = []
  const options: DeliveryThreadOptions = {
    setup: {
      file: { path, options: {} },
      allowPrivate: true,
      userAgent: 'joon/test',
      owner: 'test-thread',
      schedule: [0, 60_000],
    },
    log: logs.log,
    observe: { webhookCall: (...call) => calls.push(call) },
    fallback: () => {
      const sender = createWebhookSender({ allowPrivate: true, userAgent: 'joon/test' })
      const worker = startDeliveryWorker({ store, sender, owner: 'fallback', log: logs.log })
      fallbacks.push(worker)
      return worker
    },
  }
  const queue = async (id: string) => {
    const delivery: NewDelivery = {
      id,
      webhook: 'crm',
      conversationId: 'c_1',
      async: true,
      body: JSON.stringify({ email: 'ada@example.com' }),
      createdAt: Date.now(),
    }
    await store.recordDelivery(delivery)
  }
  return { store, receiver, secret, logs, calls, fallbacks, options, queue }
}

it('sends deliveries from its own thread, telling the main thread its calls and logs', async () => {
  const { store, receiver, secret, calls, fallbacks, options, queue } = await setUp('ok')
  const thread = startDeliveryThread(options)
  cleanups.push(() => thread.stop())
  await queue('msg_1')
  thread.wake()
  await waitFor('the delivery is recorded', async () => {
    return (await store.getDelivery('msg_1'))?.status === 'delivered'
  })
  expect(receiver.received.map((request) => request.id)).toEqual(['msg_1'])
  verifySignature(secret, receiver.received[0]!)
  await waitFor('the call reaches the metrics', () => calls.length === 1)
  expect(calls[0]).toEqual(['crm', 'async', 'delivered', expect.any(Number)])
  expect(fallbacks).toEqual([])
})

it("forwards the thread's log lines, and stops with nothing left in flight", async () => {
  const { store, logs, fallbacks, options, queue } = await setUp('fail')
  const thread = startDeliveryThread(options)
  await queue('msg_2')
  thread.wake()
  await waitFor('the retry is logged', () => logs.events('delivery.retry_scheduled').length === 1)
  expect(logs.events('delivery.retry_scheduled')[0]!.fields).toMatchObject({
    id: 'msg_2',
    webhook: 'crm',
    status: 503,
  })
  await thread.stop()
  expect(fallbacks).toEqual([])
  const record = await store.getDelivery('msg_2')
  expect(record).toMatchObject({ status: 'pending', attempts: 1, leaseOwner: null })
})

it('runs the loop on the main thread when the thread cannot start', async () => {
  const { store, logs, fallbacks, options, queue } = await setUp('ok')
  const entry = new URL('../fixtures/thread-that-fails.mjs', import.meta.url)
  const thread = startDeliveryThread({ ...options, entry })
  cleanups.push(() => thread.stop())
  await queue('msg_3')
  thread.wake()
  await waitFor('the delivery is recorded', async () => {
    return (await store.getDelivery('msg_3'))?.status === 'delivered'
  })
  expect(fallbacks).toHaveLength(1)
  expect(logs.events('delivery.thread_failed')[0]!.fields).toMatchObject({
    error: 'the delivery thread could not open its store',
  })
})
