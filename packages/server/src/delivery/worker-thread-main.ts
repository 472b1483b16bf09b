import { readlinkSync } from 'node:fs'
import { getPriority, setPriority } from 'node:os'
import { parentPort, workerData } from 'node:worker_threads'
import type { Store } from '../store/types.js'
import { createWebhookSender } from './send.js'
import { startDeliveryWorker } from './worker.js'
import type {
  FromThread,
  ThreadSetup,
  ToThread,
  ToThreadBatch,
  WorkerStoreMethod,
} from './worker-thread.js'

/** The thread of `startThreadedDeliveryWorker`: the worker, its sender, the store by message. */
const port = parentPort
if (!port)
  throw new Error('worker-thread-main runs on a worker thread (startThreadedDeliveryWorker)')
const setup = workerData as ThreadSetup
lowerPriority(setup.nice)

/**
 * Makes this thread nicer (see `DELIVERY_THREAD_NICE`). Linux gives each thread its own nice
 * value, addressed by the thread's id; elsewhere, or when not allowed, the thread keeps the
 * process's priority.
 */
function lowerPriority(nice: number) {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop())
    if (Number.isInteger(tid) && tid > 0 && getPriority(tid) < nice) setPriority(tid, nice)
  } catch {
    // Not Linux: nothing to do.
  }
}

let queued: FromThread[] = []
let flushScheduled = false
const calls = new Map<number, { resolve: (value: never) => void; reject: (error: Error) => void }>()
let nextCall = 0
/** The last batch received: the snapshot says it has been taken into account. */
let seen = 0
/** Whether the last snapshot sent had claims open. */
let sentOpen = false

function post(message: FromThread) {
  queued.push(message)
  scheduleFlush()
}

function scheduleFlush() {
  if (flushScheduled) return
  flushScheduled = true
  setImmediate(flush)
}

/** Sends what waits, with the claim snapshot as it is now. */
function flush() {
  flushScheduled = false
  const snapshot = worker.claimSnapshot()
  sentOpen = snapshot.open
  queued.push({ type: 'claims', snapshot, seen })
  port?.postMessage(queued)
  queued = []
}

function call<T>(method: WorkerStoreMethod, ...args: unknown[]): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const id = nextCall++
    calls.set(id, { resolve: resolve as (value: never) => void, reject })
    post({ type: 'call', id, method, args })
  })
}

const store: Partial<Store> = {
  getWebhook: (name) => call('getWebhook', name),
  listWebhooks: () => call('listWebhooks'),
  leaseDueDeliveries: (options) => call('leaseDueDeliveries', options),
  completeAttempt: (completion) => call('completeAttempt', completion),
  nextDueAt: () => call('nextDueAt'),
  ...(setup.storeHas.completeAttempts
    ? { completeAttempts: (completions) => call('completeAttempts', completions) }
    : {}),
  ...(setup.storeHas.releaseLeases
    ? { releaseLeases: (owner, ids) => call('releaseLeases', owner, ids) }
    : {}),
}

const sender = createWebhookSender(setup.sender)
const worker = startDeliveryWorker({
  store: store as Store,
  sender,
  owner: setup.owner,
  ...(setup.schedule ? { schedule: setup.schedule } : {}),
  ...(setup.concurrency ? { concurrency: setup.concurrency } : {}),
  log: (event, fields) => post({ type: 'log', event, fields }),
})

port.on('message', (batch: ToThreadBatch) => {
  seen = batch.seq
  let news = false
  for (const message of batch.messages) {
    receive(message)
    if (message.type !== 'result' && message.type !== 'error') news = true
  }
  // The snapshot goes back once what arrived is taken in. Answers to calls change no claim
  // (they wait for the next message out: acknowledgements are cumulative) unless they opened
  // or closed claims (the webhooks' timeouts became known, a lease found a backlog).
  if (news || worker.claimSnapshot().open !== sentOpen) scheduleFlush()
})

function receive(message: ToThread) {
  switch (message.type) {
    case 'result': {
      const pending = calls.get(message.id)
      calls.delete(message.id)
      return pending?.resolve(message.value as never)
    }
    case 'error': {
      const pending = calls.get(message.id)
      calls.delete(message.id)
      return pending?.reject(new Error(message.message))
    }
    case 'adopt':
      return worker.adopt(message.deliveries)
    case 'wake':
      return worker.wake()
    case 'stop':
      return void stop()
  }
}

async function stop() {
  await worker.stop()
  await sender.close()
  post({ type: 'stopped' })
  flush()
  port?.close()
}
