import { workerData } from 'node:worker_threads'
import { expose, wrap } from 'comlink'
import { withAlerts } from '../alerts/alerting-store.js'
import { SqliteStore } from '../store/sqlite.js'
import { createWebhookSender } from './send.js'
import { type DeliveryThreadSetup, endpoint, type MainThreadHooks } from './thread.js'
import { startDeliveryWorker } from './worker.js'

// The delivery thread (`thread.ts`): the outbox loop on its own connection to the SQLite file.

const setup = workerData as DeliveryThreadSetup
const main = wrap<MainThreadHooks>(endpoint(setup.hooks))
// A message that cannot be sent is dropped: it must not end the thread (an unhandled rejection).
const log = (event: string, fields: Record<string, unknown>) => {
  main.log(event, fields).catch(() => {})
}

/** Calls made within 100 ms, sent to the metrics as one message. */
let calls: Parameters<MainThreadHooks['webhookCalls']>[0] = []
const flushCalls = () => {
  if (calls.length > 0) main.webhookCalls(calls).catch(() => {})
  calls = []
}

const file = SqliteStore.open(setup.file.path, setup.file.options)
const store = setup.alertWebhook
  ? withAlerts(file, { webhook: setup.alertWebhook, log, onQueued: () => worker.wake() })
  : file
const sender = createWebhookSender({ allowPrivate: setup.allowPrivate, userAgent: setup.userAgent })
const worker = startDeliveryWorker({
  store,
  sender,
  owner: setup.owner,
  ...(setup.schedule ? { schedule: setup.schedule } : {}),
  ...(setup.concurrency ? { concurrency: setup.concurrency } : {}),
  log,
  observe: {
    webhookCall(...call) {
      calls.push(call)
      if (calls.length === 1) setTimeout(flushCalls, 100)
    },
  },
})

const control = {
  wake: () => worker.wake(),
  async stop() {
    await worker.stop()
    flushCalls()
    await sender.close()
    await file.close()
  },
}
expose(control, endpoint(setup.control))

/** What the chat thread calls on this thread. */
export type ThreadControl = typeof control
