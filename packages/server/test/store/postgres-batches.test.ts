import { describe, expect, it } from 'vitest'
import { Batches } from '../../src/store/postgres-batches.js'

/** A `send` that records each batch and answers when `release` is called. */
function held() {
  const batches: number[][] = []
  const waiting: (() => void)[] = []
  const send = async (items: number[]) => {
    batches.push(items)
    await new Promise<void>((resolve) => waiting.push(resolve))
    return items.map((item) => item * 10)
  }
  const release = () => {
    for (const resolve of waiting.splice(0)) resolve()
  }
  return { batches, send, release }
}

const turn = () => new Promise((resolve) => setImmediate(resolve))

describe('Batches', () => {
  it('sends the calls of one turn of the event loop as one batch, each answered in order', async () => {
    const target = held()
    const batches = new Batches(target.send)
    const answers = Promise.all([1, 2, 3].map((n) => batches.add(n)))
    await turn()
    target.release()
    expect(await answers).toEqual([10, 20, 30])
    expect(target.batches).toEqual([[1, 2, 3]])
  })

  it('sends a later turn at once by default, alongside the batch in flight', async () => {
    const target = held()
    const batches = new Batches(target.send)
    const first = batches.add(1)
    await turn()
    const second = batches.add(2)
    await turn()
    expect(target.batches).toEqual([[1], [2]])
    target.release()
    expect([await first, await second]).toEqual([10, 20])
  })

  it('one at a time: calls made while a batch is sent wait for it and go together', async () => {
    const target = held()
    const batches = new Batches(target.send, undefined, { oneAtATime: true })
    const first = batches.add(1)
    await turn()
    const later = [batches.add(2), batches.add(3)]
    await turn()
    const last = batches.add(4)
    await turn()
    expect(target.batches).toEqual([[1]])
    target.release()
    expect(await first).toBe(10)
    await turn()
    await turn()
    expect(target.batches).toEqual([[1], [2, 3, 4]])
    target.release()
    expect(await Promise.all([...later, last])).toEqual([20, 30, 40])
  })

  it('keeps writes to one key in successive batches, in the order they came', async () => {
    const sent: string[][] = []
    const batches = new Batches(
      async (items: string[]) => {
        sent.push(items)
        return items
      },
      (item) => item.split(':')[0]!,
    )
    await Promise.all(['a:1', 'b:1', 'a:2', 'a:3'].map((item) => batches.add(item)))
    expect(sent).toEqual([['a:1', 'b:1'], ['a:2'], ['a:3']])
  })

  it('sends a failed batch again one call at a time: one bad call fails alone', async () => {
    const sent: number[][] = []
    const batches = new Batches(async (items: number[]) => {
      sent.push(items)
      if (items.includes(2)) throw new Error('conflict')
      return items
    })
    const results = await Promise.allSettled([1, 2, 3].map((n) => batches.add(n)))
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    expect(sent).toEqual([[1, 2, 3], [1], [2], [3]])
  })
})
