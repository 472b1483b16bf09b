import type { Webhook } from '@joon/core'
import { DEFAULT_RETRY_SCHEDULE } from '../config.js'
import type {
  AttemptCompletion,
  AttemptOutcome,
  DeliveryRecord,
  LeaseOptions,
  NewDelivery,
  Store,
} from '../store/types.js'
import type { WebhookSender } from './protocol.js'
import { type AttemptResult, decideOutcome } from './retry-policy.js'

/** What the worker needs of the guarded sender (`createWebhookSender` in `send.ts`). */
export type DeliverySender = Pick<WebhookSender, 'send'>

export type DeliveryLog = (event: string, fields: Record<string, unknown>) => void

export interface DeliveryWorkerOptions {
  store: Store
  sender: DeliverySender
  /** Unique per process (and per worker): leases are taken in this name. */
  owner: string
  /** Delay before each attempt, in ms (the first is usually 0). Default: the contract's. */
  schedule?: readonly number[]
  /** Attempts in flight at once, over all webhooks. Default 16. */
  concurrency?: number
  /**
   * Attempts in flight at once to one webhook, so a slow or dead endpoint never holds every
   * slot. Default: a quarter of `concurrency`, at least 2 (at most `concurrency`).
   */
  perWebhookLimit?: number
  /**
   * How long a lease lasts. Default: twice the longest registered webhook timeout plus 5 s
   * (65 s until the webhooks are known), so a taken delivery is sent and recorded well
   * before anyone else may take it, and a crashed process's deliveries come back soon.
   */
  leaseMs?: number
  /**
   * Longest sleep between two looks at the store, so deliveries queued by another process
   * (several instances on one database) are seen. Default 1000.
   */
  pollMs?: number
  /** How long `stop()` waits for attempts in flight. Default 35 s (a call lasts ≤ 30 s). */
  stopTimeoutMs?: number
  /** Epoch ms; the store's times. Default `Date.now`. */
  now?: () => number
  /** For the retry jitter. Default `Math.random`. */
  random?: () => number
  log: DeliveryLog
}

export interface DeliveryWorker {
  /** Deliveries were queued or replayed: look at the store now rather than at the next poll. */
  wake(): void
  /**
   * Asked while a turn builds its outbox: the lease to store a new delivery to `webhook`
   * with (`NewDelivery.lease`), so that once written it is handed to this worker by `adopt`
   * and sent straight from memory, without leasing it from the store. Null when it should be
   * stored due like any other: the worker is stopping, first attempts are delayed, or the
   * webhook's lane is full or has older deliveries waiting in the store (they go first).
   */
  claim(webhook: string): { owner: string; until: number } | null
  /**
   * The outbox of a turn, now written: deliveries leased by `claim` are sent from memory;
   * for any other, the worker looks at the store (as `wake`).
   */
  adopt(deliveries: readonly NewDelivery[]): void
  /** Stops taking deliveries, lets attempts in flight finish (bounded wait), then resolves. */
  stop(): Promise<void>
}

/**
 * What `claim` would answer right now, for a worker on another thread (`worker-thread.ts`):
 * how many new deliveries each webhook's lane takes from memory (`otherwise` for webhooks not
 * listed) and the lease to give them. Nothing is claimable while `open` is false.
 */
export interface ClaimSnapshot {
  open: boolean
  owner: string
  leaseMs: number
  room: [webhook: string, count: number][]
  otherwise: number
}

/** A leased delivery waiting for a slot. */
interface Leased {
  record: DeliveryRecord
  /** Null when the webhook is no longer registered. */
  webhook: Webhook | null
  leaseUntil: number
}

/** Per-webhook bookkeeping: attempts in flight and leased deliveries waiting for a slot. */
interface Lane {
  inFlight: number
  parked: Leased[]
  /** The store may hold more due deliveries for this webhook than the worker took. */
  mayHaveMore: boolean
}

/** The longest a webhook call may take (contract §3). */
/**
 * Calls in flight at once, a quarter of them at most to one webhook. One webhook's deliveries
 * go out at most at that quarter over its latency: 16 in flight make 320/s to a receiver 50 ms
 * away (4 made 80/s, and a local receiver under a delivery on every chat turn fell behind,
 * which sent new deliveries through the store instead of straight from memory).
 */
const DEFAULT_CONCURRENCY = 64
const MAX_WEBHOOK_TIMEOUT_MS = 30_000
/** A parked delivery is only sent while its lease outlasts the call by this much. */
const LEASE_SAFETY_MS = 2_000
const LEASE_MARGIN_MS = 5_000
const WEBHOOK_REFRESH_MS = 30_000
/**
 * A webhook found is looked up again after this long, so an edit (url, secret, headers)
 * reaches the deliveries sent after it within a second; the store is asked once a second per
 * webhook instead of once per batch of deliveries.
 */
const WEBHOOK_CACHE_MS = 1_000
/** After a store error, the worker pauses this long before trying again. */
const ERROR_PAUSE_MS = 1_000
/** When something is due that the worker cannot take (its webhook is busy), look again after this. */
const BUSY_RECHECK_MS = 100
const LOG_EVERY_MS = 10_000
/**
 * Attempts are recorded in batches: once this many wait, or `COMPLETION_WAIT_MS` after the
 * first. Each commit writes every page the batch touched, so a batch of 64 costs little more
 * than one attempt alone. The slot was freed when the reply came in; a crash before the
 * record only means the delivery is sent again (at least once).
 */
const COMPLETION_BATCH = 64
const COMPLETION_WAIT_MS = 5
/** See `#leaseThrottleMs`. */
const FALLBACK_LEASE_INTERVAL_MS = 10
/** The most deliveries one webhook's lane holds (in flight and waiting); see `#depth`. */
const MAX_LANE_DEPTH = 512

/**
 * Starts the background worker that sends asynchronous webhooks from the store's outbox.
 * It never throws and never leaves a rejection unhandled: store errors are logged and retried.
 */
export function startDeliveryWorker(
  options: DeliveryWorkerOptions,
): DeliveryWorker & { claimSnapshot(): ClaimSnapshot } {
  const worker = new OutboxWorker(options)
  return {
    wake: () => worker.wake(),
    claim: (webhook) => worker.claim(webhook),
    adopt: (deliveries) => worker.adopt(deliveries),
    stop: () => worker.stop(),
    claimSnapshot: () => worker.claimSnapshot(),
  }
}

class OutboxWorker {
  readonly #store: Store
  readonly #sender: DeliverySender
  readonly #owner: string
  readonly #schedule: readonly number[]
  readonly #concurrency: number
  readonly #perWebhook: number
  readonly #fixedLeaseMs: number | undefined
  readonly #pollMs: number
  readonly #stopTimeoutMs: number
  readonly #now: () => number
  readonly #random: () => number
  readonly #log: DeliveryLog

  readonly #lanes = new Map<string, Lane>()
  readonly #running = new Set<Promise<void>>()
  readonly #completions: {
    completion: AttemptCompletion
    resolve: (recorded: boolean) => void
    reject: (error: unknown) => void
  }[] = []
  #inFlight = 0
  /** Each webhook's recent call duration in ms (a moving average), to size its lane. */
  readonly #callMs = new Map<string, number>()
  #completionTimer: NodeJS.Timeout | undefined
  /** Claimed deliveries, written, waiting to be parked in their lanes (see `adopt`). */
  #adopted: NewDelivery[] = []
  /** How many of `#adopted` go to each webhook: their lanes' room is taken already. */
  readonly #arriving = new Map<string, number>()

  /** Something happened that may make a lease worthwhile (a wake, a freed lane, the start). */
  #trigger = true
  /** The last lease took all it asked for: more may be due. */
  #moreDue = false
  /** Null until a lease proves it either way. */
  #storeSkips: boolean | null = null
  #signal: (() => void) | null = null
  #stopping = false
  #stopped: Promise<void> | undefined
  readonly #loop: Promise<void>

  #longestTimeoutMs = MAX_WEBHOOK_TIMEOUT_MS
  readonly #webhooks = new Map<string, { webhook: Webhook; at: number }>()
  #webhooksCheckedAt = Number.NEGATIVE_INFINITY
  #timeoutsKnown = false
  #abandoned = 0
  #lastLeaseAt = Number.NEGATIVE_INFINITY
  /** When the quiet loop looks at the store again (null: work it out first). */
  #sleepUntil: number | null = null
  #dueCache: { due: number | null; at: number } | undefined
  /** The earliest retry this worker scheduled that no lease has taken yet. */
  #ownRetryAt = Number.POSITIVE_INFINITY
  #abandonLoggedAt = Number.NEGATIVE_INFINITY

  constructor(options: DeliveryWorkerOptions) {
    this.#store = options.store
    this.#sender = options.sender
    this.#owner = options.owner
    this.#schedule = options.schedule ?? DEFAULT_RETRY_SCHEDULE
    this.#concurrency = Math.max(1, Math.floor(options.concurrency ?? DEFAULT_CONCURRENCY))
    this.#perWebhook = Math.min(
      this.#concurrency,
      Math.max(1, Math.floor(options.perWebhookLimit ?? Math.max(2, this.#concurrency / 4))),
    )
    this.#fixedLeaseMs = options.leaseMs
    this.#pollMs = Math.max(1, options.pollMs ?? 1_000)
    this.#stopTimeoutMs = options.stopTimeoutMs ?? 35_000
    this.#now = options.now ?? Date.now
    this.#random = options.random ?? Math.random
    this.#log = options.log
    this.#loop = this.#run().catch((error: unknown) => {
      this.#log('delivery.worker_crashed', { error: describe(error) })
    })
  }

  wake(): void {
    this.#trigger = true
    this.#notify()
  }

  claim(name: string): { owner: string; until: number } | null {
    if (!this.#claimsOpen() || this.#room(name) <= 0) return null
    return { owner: this.#owner, until: this.#now() + this.#leaseMs() }
  }

  claimSnapshot(): ClaimSnapshot {
    const names = new Set([...this.#lanes.keys(), ...this.#callMs.keys(), ...this.#arriving.keys()])
    return {
      open: this.#claimsOpen(),
      owner: this.#owner,
      leaseMs: this.#leaseMs(),
      room: [...names].map((name) => [name, Math.max(0, this.#room(name))]),
      otherwise: 2 * this.#perWebhook,
    }
  }

  /**
   * Not before the lease length is known: a lease sized for unknown webhooks (65 s) would keep
   * a crashed process's newest deliveries waiting that long.
   */
  #claimsOpen(): boolean {
    const leaseKnown = this.#fixedLeaseMs !== undefined || this.#timeoutsKnown
    return !this.#stopping && leaseKnown && (this.#schedule[0] ?? 0) <= 0 && !this.#moreDue
  }

  /** How many more deliveries this webhook's lane takes from memory. */
  #room(name: string): number {
    const lane = this.#lanes.get(name)
    const arriving = this.#arriving.get(name) ?? 0
    if (!lane) return this.#depth(name) - arriving
    if (lane.mayHaveMore) return 0
    return this.#depth(name) - lane.inFlight - lane.parked.length - arriving
  }

  adopt(deliveries: readonly NewDelivery[]): void {
    for (const delivery of deliveries) {
      if (delivery.lease?.owner === this.#owner) {
        this.#adopted.push(delivery)
        this.#arriving.set(delivery.webhook, (this.#arriving.get(delivery.webhook) ?? 0) + 1)
        if (this.#adopted.length === 1) queueMicrotask(() => void this.#park())
        continue
      }
      // Stored due: the next lease takes it, after whatever of its webhook waited longer.
      const lane = this.#lanes.get(delivery.webhook)
      if (lane) lane.mayHaveMore = true
      this.wake()
    }
  }

  /** Parks adopted deliveries in their lanes, looking their webhooks up once per batch. */
  async #park(): Promise<void> {
    const batch = this.#adopted
    this.#adopted = []
    this.#arriving.clear()
    const webhooks = new Map<string, Webhook | null>()
    try {
      for (const { webhook: name } of batch) {
        if (!webhooks.has(name)) webhooks.set(name, await this.#webhookOf(name))
      }
    } catch (error) {
      // They stay leased in the store: once the lease runs out, a lease takes them again.
      this.#log('delivery.store_error', { error: describe(error), adopted: batch.length })
      return
    }
    if (this.#stopping) {
      await this.#release(batch.map((delivery) => delivery.id))
      return
    }
    for (const delivery of batch) {
      const until = delivery.lease?.until ?? 0
      this.#laneOf(delivery.webhook).parked.push({
        record: {
          id: delivery.id,
          webhook: delivery.webhook,
          conversationId: delivery.conversationId,
          async: delivery.async,
          status: 'pending',
          body: delivery.body,
          attempts: 0,
          lastStatus: null,
          lastError: null,
          createdAt: delivery.createdAt,
          nextAttemptAt: delivery.nextAttemptAt ?? delivery.createdAt,
          leaseOwner: this.#owner,
          leaseUntil: until,
        },
        webhook: webhooks.get(delivery.webhook) ?? null,
        leaseUntil: until,
      })
    }
    this.#pump()
  }

  /** Gives leases back (see `Store.releaseLeases`); without it they run out on their own. */
  async #release(ids: string[]): Promise<void> {
    if (ids.length === 0 || !this.#store.releaseLeases) return
    try {
      await this.#store.releaseLeases(this.#owner, ids)
    } catch (error) {
      this.#log('delivery.store_error', {
        error: describe(error),
        note: `${ids.length} leased deliveries are taken again once their lease runs out`,
      })
    }
  }

  #laneOf(name: string): Lane {
    let lane = this.#lanes.get(name)
    if (!lane) {
      lane = { inFlight: 0, parked: [], mayHaveMore: false }
      this.#lanes.set(name, lane)
    }
    return lane
  }

  stop(): Promise<void> {
    this.#stopped ??= this.#shutDown()
    return this.#stopped
  }

  async #shutDown(): Promise<void> {
    this.#stopping = true
    this.#notify()
    await this.#loop
    // Deliveries waiting for a slot are given back, due at once for whoever runs next.
    const waiting = [...this.#lanes.values()].flatMap((lane) => lane.parked.splice(0))
    await this.#release(waiting.map((item) => item.record.id))
    if (this.#running.size === 0) return
    let timer: NodeJS.Timeout | undefined
    const timedOut = await Promise.race([
      Promise.allSettled([...this.#running]).then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), this.#stopTimeoutMs)
      }),
    ])
    clearTimeout(timer)
    if (timedOut) {
      this.#log('delivery.stop_timeout', {
        inFlight: this.#running.size,
        note: 'their leases expire and they are sent again after a restart',
      })
    }
  }

  async #run(): Promise<void> {
    while (!this.#stopping) {
      try {
        this.#pump()
        if (this.#inFlight >= this.#concurrency) {
          await this.#wait(null)
        } else if (this.#trigger || this.#moreDue) {
          const wait = this.#leaseThrottleMs()
          if (wait > 0) {
            await this.#wait(wait)
            continue
          }
          this.#trigger = false
          this.#sleepUntil = null
          await this.#lease()
        } else {
          // Asked once per quiet spell: a finished call wakes the loop, but only a lease or
          // the time passing changes what is due.
          if (this.#sleepUntil === null) {
            let due = await this.#storeDueAt()
            if (this.#trigger || this.#stopping) continue
            if (this.#ownRetryAt < (due ?? Number.POSITIVE_INFINITY)) due = this.#ownRetryAt
            const now = this.#now()
            const sleep = due === null ? this.#pollMs : due <= now ? BUSY_RECHECK_MS : due - now + 1
            this.#sleepUntil = now + Math.min(sleep, this.#pollMs)
          }
          if (await this.#wait(Math.max(0, this.#sleepUntil - this.#now()))) this.#trigger = true
        }
      } catch (error) {
        this.#log('delivery.store_error', { error: describe(error), retryInMs: ERROR_PAUSE_MS })
        this.#moreDue = false
        this.#trigger = true
        this.#sleepUntil = null
        await this.#wait(ERROR_PAUSE_MS, true)
      }
    }
  }

  /**
   * `store.nextDueAt()`, asked at most every `BUSY_RECHECK_MS`: while deliveries flow, the
   * loop goes quiet after every lease, and the answer rarely changes in between. Retries this
   * worker schedules itself are tracked in `#ownRetryAt`, so none waits for the cache.
   */
  async #storeDueAt(): Promise<number | null> {
    const now = this.#now()
    if (this.#dueCache && now - this.#dueCache.at < BUSY_RECHECK_MS) return this.#dueCache.due
    const due = await this.#store.nextDueAt()
    this.#dueCache = { due, at: now }
    return due
  }

  /** Resolves on a signal, on stop, or after `ms` (then with true). */
  #wait(ms: number | null, ignoreSignals = false): Promise<boolean> {
    if (this.#stopping) return Promise.resolve(false)
    return new Promise((resolve) => {
      const timer =
        ms === null
          ? undefined
          : setTimeout(() => {
              this.#signal = null
              resolve(true)
            }, ms)
      // A pending timer alone never keeps the process alive; a server or a send does.
      timer?.unref()
      this.#signal = () => {
        if (ignoreSignals && !this.#stopping) return
        this.#signal = null
        clearTimeout(timer)
        resolve(false)
      }
    })
  }

  #notify(): void {
    this.#signal?.()
  }

  /**
   * With a store that ignores `skipWebhooks`, every lease also hands back deliveries of the
   * busy webhooks; leasing at the pace a fast webhook frees slots would pile them up. While a
   * webhook is busy, leases are spaced out instead.
   */
  #leaseThrottleMs(): number {
    if (this.#storeSkips !== false) return 0
    const wait = this.#lastLeaseAt + FALLBACK_LEASE_INTERVAL_MS - this.#now()
    if (wait <= 0) return 0
    for (const [name, lane] of this.#lanes) if (!this.#leasable(name, lane)) return wait
    return 0
  }

  /** Whether the worker wants more deliveries for this webhook (see `#lease`). */
  #leasable(name: string, lane: Lane): boolean {
    const held = lane.inFlight + lane.parked.length
    if (this.#storeSkips === false) return held < 2 * this.#perWebhook
    return held <= Math.max(this.#perWebhook, this.#depth(name) / 2)
  }

  /**
   * How many deliveries a webhook's lane may hold, in flight and waiting: as many as its slots
   * send in a quarter of a lease at the pace of its recent calls (so none waits until its
   * lease runs short), at least two per slot, at most `MAX_LANE_DEPTH`. A fast receiver's lane
   * holds hundreds, so new deliveries go to it from memory (`claim`) and leases come in big
   * batches; a slow or dead receiver's lane holds a few.
   */
  #depth(name: string): number {
    const floor = 2 * this.#perWebhook
    const callMs = this.#callMs.get(name)
    if (callMs === undefined) return floor
    const sendable = Math.floor((this.#perWebhook * this.#leaseMs()) / 4 / Math.max(1, callMs))
    return Math.max(floor, Math.min(MAX_LANE_DEPTH, sendable))
  }

  /** How many of one webhook's deliveries a lease takes: what the tightest lane has room for. */
  #leaseBatch(skip: ReadonlySet<string>): number {
    if (this.#storeSkips === false) return this.#perWebhook
    let batch = Number.POSITIVE_INFINITY
    for (const name of new Set([...this.#lanes.keys(), ...this.#callMs.keys()])) {
      if (skip.has(name)) continue
      const lane = this.#lanes.get(name)
      batch = Math.min(batch, this.#depth(name) - (lane ? lane.inFlight + lane.parked.length : 0))
    }
    return Number.isFinite(batch) ? Math.max(this.#perWebhook, batch) : this.#perWebhook
  }

  async #lease(): Promise<void> {
    await this.#refreshWebhookTimeouts()
    const now = this.#now()
    this.#lastLeaseAt = now
    // Due now, so this lease takes it (or skips its busy webhook, which calls back later).
    if (this.#ownRetryAt <= now) this.#ownRetryAt = Number.POSITIVE_INFINITY
    const skip: string[] = []
    for (const [name, lane] of this.#lanes) if (!this.#leasable(name, lane)) skip.push(name)
    // A store that honours `skipWebhooks` hands a webhook at most what the tightest lane has
    // room for, and only lanes at most half full are asked for more (`#depth`). One that
    // ignores it hands back busy webhooks' deliveries on every lease: they wait in their lane
    // (leases are spaced out meanwhile, see `#leaseThrottleMs`), `perWebhook` per lease.
    const perWebhookLimit = this.#leaseBatch(new Set(skip))
    // Enough for the free slots and a lane's worth of spares; each webhook is held to its own
    // limit anyway. With a store that does not skip, the busy ones get their share on top, so
    // they cannot crowd the others out of the lease.
    const limit =
      Math.max(2 * this.#concurrency - this.#inFlight, perWebhookLimit) +
      (this.#storeSkips === false ? perWebhookLimit * skip.length : 0)
    const request: LeaseOptions = {
      now,
      limit,
      leaseMs: this.#leaseMs(),
      owner: this.#owner,
      perWebhookLimit,
      ...(skip.length > 0 ? { skipWebhooks: skip } : {}),
    }
    const records = await this.#store.leaseDueDeliveries(request)
    this.#moreDue = records.length >= limit

    const taken = new Map<string, number>()
    for (const record of records) taken.set(record.webhook, (taken.get(record.webhook) ?? 0) + 1)
    const skipped = new Set(skip)
    for (const [name, lane] of this.#lanes) {
      lane.mayHaveMore = skipped.has(name) || (taken.get(name) ?? 0) >= perWebhookLimit
    }
    if (records.length === 0) return

    const webhooks = new Map<string, Webhook | null>()
    await Promise.all(
      [...taken.keys()].map(async (name) => webhooks.set(name, await this.#webhookOf(name))),
    )

    // Only memory bounds what waits in a lane: whatever cannot be sent before its lease runs
    // short is dropped at `#pump` anyway, and taken again once the lease is over.
    const hardCap = Math.max(MAX_LANE_DEPTH, 2 * this.#perWebhook + 16 * this.#concurrency)
    for (const record of records) {
      if (skipped.has(record.webhook)) this.#noteStoreIgnoresSkip()
      const lane = this.#laneOf(record.webhook)
      lane.mayHaveMore ||= (taken.get(record.webhook) ?? 0) >= perWebhookLimit
      if (lane.inFlight + lane.parked.length >= hardCap) {
        // Left leased and unsent: the lease runs out and any worker takes it again.
        this.#abandon(1)
        continue
      }
      lane.parked.push({
        record,
        webhook: webhooks.get(record.webhook) ?? null,
        leaseUntil: record.leaseUntil ?? now + request.leaseMs,
      })
    }
    // A webhook that got all it asked for and still has room: fill its lane before the
    // first slot frees, so the next attempt starts without waiting for a lease.
    for (const [name, lane] of this.#lanes) {
      if (lane.mayHaveMore && this.#leasable(name, lane)) this.#trigger = true
    }
  }

  /**
   * `skipWebhooks` is optional for a `Store`: one that ignores it stays correct (what the
   * worker cannot send yet waits in its lane, or its lease runs out), just busier.
   */
  #noteStoreIgnoresSkip(): void {
    if (this.#storeSkips === false) return
    this.#storeSkips = false
    this.#log('delivery.store_ignores_skip', {
      note: 'this store does not honour skipWebhooks; busy webhooks cost extra leases',
    })
  }

  #abandon(count: number): void {
    this.#abandoned += count
    const now = this.#now()
    if (now - this.#abandonLoggedAt < LOG_EVERY_MS) return
    this.#log('delivery.lease_abandoned', {
      count: this.#abandoned,
      note: 'leased while their webhook was busy; taken again when the lease runs out',
    })
    this.#abandoned = 0
    this.#abandonLoggedAt = now
  }

  #leaseMs(): number {
    return this.#fixedLeaseMs ?? 2 * this.#longestTimeoutMs + LEASE_MARGIN_MS
  }

  /** A webhook as registered, at most `WEBHOOK_CACHE_MS` old; one not found is asked again. */
  async #webhookOf(name: string): Promise<Webhook | null> {
    const now = performance.now()
    const cached = this.#webhooks.get(name)
    if (cached && now - cached.at < WEBHOOK_CACHE_MS) return cached.webhook
    const webhook = await this.#store.getWebhook(name)
    if (!webhook) {
      this.#webhooks.delete(name)
      return null
    }
    this.#webhooks.set(name, { webhook, at: now })
    if (webhook.timeoutMs > this.#longestTimeoutMs) this.#longestTimeoutMs = webhook.timeoutMs
    return webhook
  }

  /** Keeps the default lease just long enough for the slowest registered webhook. */
  async #refreshWebhookTimeouts(): Promise<void> {
    if (this.#fixedLeaseMs !== undefined) return
    const now = this.#now()
    if (now - this.#webhooksCheckedAt < WEBHOOK_REFRESH_MS) return
    this.#webhooksCheckedAt = now
    const webhooks = await this.#store.listWebhooks()
    // A deleted webhook's deliveries fail at once: no call, no timeout to cover.
    this.#longestTimeoutMs = Math.max(1_000, ...webhooks.map((webhook) => webhook.timeoutMs))
    this.#timeoutsKnown = true
  }

  /** Starts parked deliveries, round-robin over webhooks, within both concurrency limits. */
  #pump(): void {
    let started = true
    while (started && !this.#stopping && this.#inFlight < this.#concurrency) {
      started = false
      for (const [name, lane] of [...this.#lanes]) {
        if (this.#inFlight >= this.#concurrency) break
        if (lane.inFlight >= this.#perWebhook) continue
        const item = lane.parked.shift()
        if (!item) {
          if (lane.inFlight === 0) this.#lanes.delete(name)
          continue
        }
        // Moving the lane to the back of the map is the round-robin.
        this.#lanes.delete(name)
        this.#lanes.set(name, lane)
        if (!this.#leaseLeftFor(item)) {
          this.#abandon(1)
          started = true
          continue
        }
        this.#start(name, lane, item)
        started = true
      }
    }
  }

  /** Whether the lease still outlasts the call, so no other worker can take it meanwhile. */
  #leaseLeftFor(item: Leased): boolean {
    if (!item.webhook) return true
    const needed = Math.min(item.webhook.timeoutMs + LEASE_SAFETY_MS, this.#leaseMs() / 2)
    return item.leaseUntil - this.#now() >= needed
  }

  #start(name: string, lane: Lane, item: Leased): void {
    lane.inFlight++
    this.#inFlight++
    // The slot is the HTTP call: it frees once the reply is in, while the attempt is still
    // being recorded (a batched write), so recording never holds back the next call.
    let released = false
    const release = () => {
      if (released) return
      released = true
      lane.inFlight--
      this.#inFlight--
      // A freed slot is worth a lease only if more may be waiting for it.
      if (this.#moreDue || (lane.mayHaveMore && this.#leasable(name, lane))) this.#trigger = true
      if (lane.inFlight === 0 && lane.parked.length === 0 && this.#lanes.get(name) === lane) {
        this.#lanes.delete(name)
      }
      // The next parked delivery goes now, not when the loop next comes round.
      this.#pump()
      this.#notify()
    }
    const running = this.#attempt(item, release)
      .catch((error: unknown) => {
        this.#log('delivery.worker_error', { id: item.record.id, error: describe(error) })
      })
      .finally(() => {
        release()
        this.#running.delete(running)
      })
    this.#running.add(running)
  }

  async #attempt(item: Leased, sent: () => void): Promise<void> {
    const { record, webhook } = item
    const at = this.#now()
    const result = webhook ? await this.#send(webhook, record) : missingWebhook(record.webhook)
    sent()
    if (webhook) {
      const average = this.#callMs.get(webhook.name)
      const ms = result.durationMs
      this.#callMs.set(webhook.name, average === undefined ? ms : 0.8 * average + 0.2 * ms)
    }
    const attemptsMade = record.attempts + 1
    const outcome = decideOutcome(attemptsMade, result, this.#now(), {
      schedule: this.#schedule,
      random: this.#random,
    })
    const attempt = {
      at,
      status: result.status,
      durationMs: Math.max(0, Math.round(result.durationMs)),
      error: result.error,
    }
    const recorded = await this.#complete(record, attempt, outcome)
    if (recorded === false) {
      this.#log('delivery.lease_lost', {
        id: record.id,
        webhook: record.webhook,
        note: 'another worker took the delivery over; its attempt counts, this one is not recorded',
      })
    }
    if (recorded === true && outcome.status === 'pending')
      this.#retryScheduled(outcome.nextAttemptAt)
    if (recorded !== true || outcome.status === 'delivered') return
    const fields = {
      id: record.id,
      webhook: record.webhook,
      attempt: attemptsMade,
      status: result.status,
      error: result.error?.slice(0, 300) ?? null,
    }
    if (outcome.status === 'pending') {
      this.#log('delivery.retry_scheduled', {
        ...fields,
        nextAttemptAt: new Date(outcome.nextAttemptAt).toISOString(),
      })
    } else {
      this.#log('delivery.failed', fields)
    }
  }

  #retryScheduled(at: number): void {
    if (at >= this.#ownRetryAt) return
    this.#ownRetryAt = at
    // The loop may be asleep until later than that: have it work out its wake-up again.
    if (this.#sleepUntil !== null && at < this.#sleepUntil) {
      this.#sleepUntil = null
      this.#notify()
    }
  }

  async #send(webhook: Webhook, record: DeliveryRecord): Promise<AttemptResult & Recorded> {
    const started = performance.now()
    try {
      const sent = await this.#sender.send(webhook, { id: record.id, body: record.body })
      // An asynchronous call's reply is not read for instructions: any 2xx means the receiver
      // has it (a plain "OK" body or one over 1 MiB is no reason to send it again).
      const ok = sent.status !== null && sent.status >= 200 && sent.status <= 299
      return {
        ok,
        status: sent.status,
        durationMs: sent.durationMs,
        error: ok ? null : (sent.error ?? `HTTP ${sent.status ?? 'error'}`),
        retryAfterMs: sent.retryAfterMs,
      }
    } catch (error) {
      // The sender reports failures as results; a throw is a bug, but still just a failed attempt.
      return {
        ok: false,
        status: null,
        durationMs: performance.now() - started,
        error: `send failed: ${describe(error)}`,
        retryAfterMs: null,
      }
    }
  }

  /**
   * Records the attempt, retrying a failing store a few times. Returns whether it was
   * recorded (false: the lease was lost), or null when the store kept failing: the lease then
   * runs out and the delivery is sent again (at least once).
   */
  /**
   * Attempts that end in the same turn of the event loop are recorded in one store write when
   * the store can (on SQLite the transaction is most of what an attempt costs).
   */
  #completeInStore(completion: AttemptCompletion): Promise<boolean> {
    if (!this.#store.completeAttempts) return this.#store.completeAttempt(completion)
    return new Promise((resolve, reject) => {
      this.#completions.push({ completion, resolve, reject })
      if (this.#completions.length >= COMPLETION_BATCH) this.#flushCompletions()
      else this.#completionTimer ??= setTimeout(() => this.#flushCompletions(), COMPLETION_WAIT_MS)
    })
  }

  #flushCompletions() {
    clearTimeout(this.#completionTimer)
    this.#completionTimer = undefined
    const batch = this.#completions.splice(0)
    this.#store.completeAttempts!(batch.map((entry) => entry.completion)).then(
      (results) => {
        for (const [i, entry] of batch.entries()) entry.resolve(results[i] ?? false)
      },
      (error: unknown) => {
        for (const entry of batch) entry.reject(error)
      },
    )
  }

  async #complete(
    record: DeliveryRecord,
    attempt: { at: number; status: number | null; durationMs: number; error: string | null },
    outcome: AttemptOutcome,
  ): Promise<boolean | null> {
    for (const pause of [200, 1_000, 3_000, -1]) {
      try {
        return await this.#completeInStore({
          id: record.id,
          owner: this.#owner,
          attempt,
          outcome,
        })
      } catch (error) {
        this.#log('delivery.store_error', { id: record.id, error: describe(error) })
        if (pause < 0) return null
        await new Promise((resolve) => setTimeout(resolve, pause))
      }
    }
    return null
  }
}

interface Recorded {
  durationMs: number
  error: string | null
}

function missingWebhook(name: string): AttemptResult & Recorded {
  return {
    ok: false,
    status: null,
    durationMs: 0,
    error: `webhook "${name}" is not registered (deleted?): retried on schedule in case it comes back`,
    retryAfterMs: null,
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
