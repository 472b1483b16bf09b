import { describe, expect, it } from 'vitest'
import { randomId, timeOrderedId } from '../src/ids.js'

describe('randomId', () => {
  it('is 128 bits as unpadded base64url after its prefix, unique across many pool refills', () => {
    const ids = new Set<string>()
    for (let i = 0; i < 20_000; i++) {
      const id = randomId('c_')
      // 16 bytes: 21 full characters, then one carrying the last 2 bits (A, Q, g or w).
      expect(id).toMatch(/^c_[A-Za-z0-9_-]{21}[AQgw]$/)
      ids.add(id)
    }
    expect(ids.size).toBe(20_000)
  })

  it('spreads every character position evenly over the alphabet', () => {
    const counts = Array.from({ length: 21 }, () => new Map<string, number>())
    const n = 64 * 400
    for (let i = 0; i < n; i++) {
      const id = randomId('')
      for (let p = 0; p < 21; p++)
        counts[p]?.set(id[p] ?? '', (counts[p]?.get(id[p] ?? '') ?? 0) + 1)
    }
    for (const position of counts) {
      expect(position.size).toBe(64)
      // 400 expected per character; a stuck or biased byte would be far outside this.
      for (const count of position.values()) expect(count).toBeGreaterThan(250)
      for (const count of position.values()) expect(count).toBeLessThan(560)
    }
  })

  it('orders time-ordered ids by their time, the random part after it', () => {
    const times = [
      0,
      1,
      63,
      64,
      1_700_000_000_000,
      1_700_000_000_001,
      1_800_000_000_000,
      2 ** 48 - 1,
    ]
    const ids = times.map((time) => timeOrderedId('msg_', time))
    for (const id of ids) expect(id).toMatch(/^msg_[-0-9A-Z_a-z]{8}[A-Za-z0-9_-]{21}[AQgw]$/)
    expect([...ids].sort()).toEqual(ids)
    expect(ids[0]?.slice(0, 12)).toBe('msg_--------')
    expect(ids.at(-1)?.slice(0, 12)).toBe('msg_zzzzzzzz')
    // Same millisecond: still unique.
    expect(timeOrderedId('msg_', 5)).not.toBe(timeOrderedId('msg_', 5))
  })
})
