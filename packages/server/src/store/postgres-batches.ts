/**
 * Calls made in the same turn of the event loop, sent to PostgreSQL as one statement.
 *
 * What it buys: on this 2-core machine a round trip costs the Node process about 170 µs of
 * CPU (most of it the `writev` that wakes the server), more than the rest of a turn. One
 * statement per call held turns to 0.31 of `pgbench -N -c 16` and one worker to 2,703
 * deliveries/s; the store's reads, conversation writes and delivery outcomes go through
 * batches (see the store's README for the figures since).
 *
 * A batch that fails is sent again one call at a time, so each caller gets its own outcome:
 * one conflicting insert does not fail the others. Every batched statement is one atomic
 * statement, so a failed batch wrote nothing.
 */
export class Batches<Item, Result> {
  readonly #send: (items: Item[]) => Promise<Result[]>
  readonly #keyOf: ((item: Item) => string) | undefined
  readonly #oneAtATime: boolean
  #queued: Call<Item, Result>[] = []
  #flushing = false

  /**
   * `send` answers each item, in order. Items with the same `keyOf` (writes to one row) never
   * share a batch: they go in successive batches, in the order they came. `oneAtATime`: calls
   * made while a batch is being sent wait for it and go together in the next, for writes whose
   * callers can wait a round trip (the delivery outcomes: fewer, larger statements).
   */
  constructor(
    send: (items: Item[]) => Promise<Result[]>,
    keyOf?: (item: Item) => string,
    options: { oneAtATime?: boolean } = {},
  ) {
    this.#send = send
    this.#keyOf = keyOf
    this.#oneAtATime = options.oneAtATime ?? false
  }

  add(item: Item): Promise<Result> {
    return new Promise((resolve, reject) => {
      this.#queued.push({ item, resolve, reject })
      if (this.#queued.length === 1 && !this.#flushing) setImmediate(() => void this.#flush())
    })
  }

  async #flush(): Promise<void> {
    const queued = this.#queued
    this.#queued = []
    this.#flushing = this.#oneAtATime
    try {
      for (const batch of this.#split(queued)) await this.#run(batch)
    } finally {
      this.#flushing = false
      if (this.#oneAtATime && this.#queued.length > 0) setImmediate(() => void this.#flush())
    }
  }

  #split(queued: Call<Item, Result>[]): Call<Item, Result>[][] {
    const keyOf = this.#keyOf
    if (!keyOf) return [queued]
    const batches: { keys: Set<string>; calls: Call<Item, Result>[] }[] = []
    for (const call of queued) {
      const key = keyOf(call.item)
      let batch = batches.find((candidate) => !candidate.keys.has(key))
      if (!batch) {
        batch = { keys: new Set(), calls: [] }
        batches.push(batch)
      }
      batch.keys.add(key)
      batch.calls.push(call)
    }
    return batches.map((batch) => batch.calls)
  }

  async #run(calls: Call<Item, Result>[]): Promise<void> {
    try {
      const results = await this.#send(calls.map((call) => call.item))
      for (const [i, call] of calls.entries()) call.resolve(results[i]!)
    } catch (error) {
      if (calls.length === 1) calls[0]!.reject(error)
      else await Promise.all(calls.map((call) => this.#run([call])))
    }
  }
}

interface Call<Item, Result> {
  item: Item
  resolve: (result: Result) => void
  reject: (error: unknown) => void
}
