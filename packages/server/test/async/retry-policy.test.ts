import { describe, expect, it } from 'vitest'
import { DEFAULT_RETRY_SCHEDULE } from '../../src/config.js'
import { decideOutcome, MAX_RETRY_AFTER_MS, withJitter } from '../../src/delivery/retry-policy.js'

const failure = (status: number | null, retryAfterMs: number | null = null) => ({
  ok: false,
  status,
  retryAfterMs,
})
const policy = (random = 0.5) => ({ schedule: DEFAULT_RETRY_SCHEDULE, random: () => random })
const NOW = 1_700_000_000_000

describe('retry policy', () => {
  it('follows the contract schedule: 0, 5s, 5m, 30m, 2h, 5h, 10h, 10h, then failed', () => {
    const delays = []
    for (let made = 1; made <= 8; made++) {
      const outcome = decideOutcome(made, failure(500), NOW, policy())
      delays.push(outcome.status === 'pending' ? outcome.nextAttemptAt - NOW : outcome.status)
    }
    const h = 3_600_000
    expect(delays).toEqual([5_000, 300_000, 1_800_000, 2 * h, 5 * h, 10 * h, 10 * h, 'failed'])
  })

  it('spreads each delay over ±20%', () => {
    expect(withJitter(10_000, () => 0)).toBe(8_000)
    expect(withJitter(10_000, () => 0.999_999)).toBe(12_000)
    expect(withJitter(0, () => 0.9)).toBe(0)
    for (let i = 0; i < 1_000; i++) {
      const delay = withJitter(5_000, Math.random)
      expect(delay).toBeGreaterThanOrEqual(4_000)
      expect(delay).toBeLessThanOrEqual(6_000)
    }
  })

  it('delivers on 2xx and fails at once on 410 Gone', () => {
    expect(decideOutcome(1, { ok: true, status: 204, retryAfterMs: null }, NOW, policy())).toEqual({
      status: 'delivered',
    })
    expect(decideOutcome(1, failure(410), NOW, policy())).toEqual({ status: 'failed' })
  })

  it('retries 3xx, timeouts and network errors like any failure', () => {
    for (const status of [301, 302, 307, 404, 429, 500, 503, null]) {
      expect(decideOutcome(1, failure(status), NOW, policy()).status).toBe('pending')
    }
  })

  it('waits for Retry-After when it is longer than the schedule, up to 24 hours', () => {
    const at = (retryAfterMs: number | null) => {
      const outcome = decideOutcome(1, failure(429, retryAfterMs), NOW, policy())
      return outcome.status === 'pending' ? outcome.nextAttemptAt - NOW : null
    }
    expect(at(60_000)).toBe(60_000)
    expect(at(1_000)).toBe(5_000) // the schedule's 5 s is longer
    expect(at(0)).toBe(5_000)
    expect(at(365 * 86_400_000)).toBe(MAX_RETRY_AFTER_MS)
  })

  it('gives a replayed delivery one more attempt after the schedule is used up', () => {
    expect(decideOutcome(9, failure(500), NOW, policy())).toEqual({ status: 'failed' })
    expect(decideOutcome(9, { ok: true, status: 200, retryAfterMs: null }, NOW, policy())).toEqual({
      status: 'delivered',
    })
  })
})
