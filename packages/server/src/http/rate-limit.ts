/**
 * Token buckets keyed by client address or conversation id: `perMinute` requests a minute
 * on average, with bursts up to `burst`. In memory and per process: several instances each
 * apply the limit, which is what a limit against abuse needs (not an exact quota).
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>()
  private readonly ratePerMs: number
  private readonly burst: number

  constructor(
    perMinute: number,
    options: { burst?: number; maxKeys?: number; now?: () => number } = {},
  ) {
    this.ratePerMs = perMinute / 60_000
    this.burst = options.burst ?? Math.max(1, Math.ceil(perMinute / 2))
    this.maxKeys = options.maxKeys ?? 100_000
    this.now = options.now ?? Date.now
  }

  private readonly maxKeys: number
  private readonly now: () => number

  /** Takes one token; returns 0 when allowed, else the milliseconds until the next token. */
  take(key: string): number {
    if (this.ratePerMs <= 0) return 0
    const now = this.now()
    const bucket = this.buckets.get(key)
    const tokens = bucket
      ? Math.min(this.burst, bucket.tokens + (now - bucket.at) * this.ratePerMs)
      : this.burst
    if (tokens < 1) {
      if (bucket) Object.assign(bucket, { tokens, at: now })
      return Math.ceil((1 - tokens) / this.ratePerMs)
    }
    if (!bucket && this.buckets.size >= this.maxKeys) this.evictFull(now)
    this.buckets.set(key, { tokens: tokens - 1, at: now })
    return 0
  }

  /** Returns a token taken by `take` (capped at the burst): the request did not count. */
  giveBack(key: string): void {
    const bucket = this.buckets.get(key)
    if (bucket) bucket.tokens = Math.min(this.burst, bucket.tokens + 1)
  }

  /** Buckets that have refilled are the same as absent ones: drop them. */
  private evictFull(now: number) {
    for (const [key, bucket] of this.buckets) {
      if (bucket.tokens + (now - bucket.at) * this.ratePerMs >= this.burst) this.buckets.delete(key)
    }
    // Still full (a flood of distinct keys): forget the oldest half rather than grow.
    if (this.buckets.size >= this.maxKeys) {
      let drop = this.buckets.size / 2
      for (const key of this.buckets.keys()) {
        if (drop-- <= 0) break
        this.buckets.delete(key)
      }
    }
  }
}

/** The client address a proxy or edge platform reports, if any. */
export function proxyAddress(request: Request): string | undefined {
  return (
    request.headers.get('cf-connecting-ip') ??
    (request.headers.get('x-forwarded-for')?.split(',')[0]?.trim() || undefined)
  )
}
