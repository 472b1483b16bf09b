import type { ServerResponse } from 'node:http'
import { brotliCompressSync, constants, gzipSync } from 'node:zlib'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createWebhookSender, type ResolveHostname } from '../../src/delivery/send.js'
import { hook, type ReceiverHandler, startReceiver } from './receiver.js'

// Fault tests with real sockets (STYLE.md): a receiver that hangs, drips, floods and bombs.

const MiB = 1024 * 1024
const closers: (() => Promise<void>)[] = []
afterEach(async () => {
  while (closers.length) await closers.pop()?.()
})

async function setup(
  handler: ReceiverHandler,
  resolve?: ResolveHostname,
  connectTimeoutMs?: number,
) {
  const receiver = await startReceiver(handler)
  const sender = createWebhookSender({
    allowPrivate: true,
    userAgent: 'joon/test',
    ...(resolve ? { resolve } : {}),
    ...(connectTimeoutMs ? { connectTimeoutMs } : {}),
  })
  closers.push(receiver.close, () => sender.close())
  return { receiver, sender }
}

const delivery = { id: 'msg_faults', body: '{"a":1}' }

/** Runs `run` while sampling JS heap + buffer memory; returns the largest growth seen. */
async function peakMemoryGrowth<T>(run: () => Promise<T>): Promise<{ result: T; growth: number }> {
  const used = () => {
    const { heapUsed, arrayBuffers } = process.memoryUsage()
    return heapUsed + arrayBuffers
  }
  const baseline = used()
  let peak = baseline
  const sampler = setInterval(() => {
    peak = Math.max(peak, used())
  }, 2)
  try {
    const result = await run()
    peak = Math.max(peak, used())
    return { result, growth: peak - baseline }
  } finally {
    clearInterval(sampler)
  }
}

/** Writes `total` bytes of `chunk` copies with backpressure; resolves with what was written. */
function flood(res: ServerResponse, chunk: Buffer, total: number): Promise<number> {
  return new Promise((resolve) => {
    let written = 0
    const finish = () => resolve(written)
    res.on('close', finish)
    const pump = () => {
      while (written < total && !res.destroyed) {
        const ok = res.write(chunk)
        written += chunk.byteLength
        if (!ok) {
          res.once('drain', pump)
          return
        }
      }
      if (written >= total) res.end()
    }
    pump()
  })
}

describe('one deadline per call', () => {
  it('a receiver that never answers is cut at timeoutMs', async () => {
    const { receiver, sender } = await setup(() => {})
    const result = await sender.send(hook(receiver.url, { timeoutMs: 300 }), delivery)
    expect(result.outcome).toEqual({ kind: 'failure', reason: 'timed out after 300 ms' })
    expect(result.status).toBeNull()
    expect(result.durationMs).toBeGreaterThanOrEqual(290)
    expect(result.durationMs).toBeLessThan(1000)
    await receiver.allClosed()
  })

  it('headers then silence: cut at timeoutMs, status kept', async () => {
    const { receiver, sender } = await setup((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.flushHeaders()
    })
    const result = await sender.send(hook(receiver.url, { timeoutMs: 300 }), delivery)
    expect(result.outcome).toEqual({
      kind: 'failure',
      reason: 'timed out after 300 ms reading the reply',
    })
    expect(result.status).toBe(200)
  })

  it('a receiver dripping a byte every 300 ms is cut at the deadline although bytes keep coming', async () => {
    let dripped = 0
    const { receiver, sender } = await setup((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.write('{')
      const timer = setInterval(() => {
        dripped++
        res.write(' ')
      }, 300)
      res.on('close', () => clearInterval(timer))
    })
    const result = await sender.send(hook(receiver.url, { timeoutMs: 1000 }), delivery)
    expect(result.outcome).toEqual({
      kind: 'failure',
      reason: 'timed out after 1000 ms reading the reply',
    })
    expect(result.status).toBe(200)
    expect(dripped).toBeGreaterThanOrEqual(2)
    expect(result.durationMs).toBeGreaterThanOrEqual(990)
    expect(result.durationMs).toBeLessThan(1500)
    // The connection is closed, so the drip stops too.
    await receiver.allClosed()
  })

  it('the deadline covers DNS resolution, and a hung resolver does not wedge the origin', async () => {
    let hang = true
    const { receiver, sender } = await setup(
      (_req, res) => res.writeHead(204).end(),
      () => (hang ? new Promise(() => {}) : Promise.resolve([{ address: '127.0.0.1', family: 4 }])),
      400,
    )
    const url = `http://slow-dns.example:${receiver.port}/`
    const result = await sender.send(hook(url, { timeoutMs: 200 }), delivery)
    expect(result.outcome).toEqual({ kind: 'failure', reason: 'timed out after 200 ms' })
    expect(result.durationMs).toBeLessThan(1000)
    expect(receiver.connections).toBe(0)
    // The lookup gives up at the connect timeout; the next call to the same origin resolves.
    hang = false
    const next = await sender.send(hook(url, { timeoutMs: 2000 }), delivery)
    expect(next.outcome).toEqual({ kind: 'none' })
  })
})

describe('the 1 MiB reply cap', () => {
  it('a reply of exactly 1 MiB is read; one byte more is a failure', async () => {
    const exact = `{"pad":"${'x'.repeat(MiB - 10)}"}`
    expect(Buffer.byteLength(exact)).toBe(MiB)
    const { receiver, sender } = await setup((req, res) => {
      res.writeHead(200).end(req.url === '/exact' ? exact : `${exact} `)
    })
    const ok = await sender.send(hook(`${receiver.url}/exact`), delivery)
    expect(ok.outcome.kind).toBe('merge')
    const over = await sender.send(hook(`${receiver.url}/over`), delivery)
    expect(over.outcome).toEqual({ kind: 'failure', reason: 'reply larger than 1 MiB (decoded)' })
    expect(over.status).toBe(200)
    expect(Buffer.byteLength(over.error ?? '')).toBeLessThanOrEqual(2048)
  })

  it('a 50 MB streamed reply is cut after 1 MiB: not buffered, the socket closed', async () => {
    let written: Promise<number> = Promise.resolve(0)
    const { receiver, sender } = await setup((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      written = flood(res, Buffer.alloc(64 * 1024, 0x20), 50 * 1000 * 1000)
    })
    const { result, growth } = await peakMemoryGrowth(() =>
      sender.send(hook(receiver.url, { timeoutMs: 10_000 }), delivery),
    )
    expect(result.outcome).toEqual({ kind: 'failure', reason: 'reply larger than 1 MiB (decoded)' })
    expect(result.status).toBe(200)
    await receiver.allClosed()
    // What the receiver managed to write before the connection closed: 1 MiB read plus what
    // kernel buffers hold, far from 50 MB.
    expect(await written).toBeLessThan(20 * MiB)
    expect(growth).toBeLessThan(40 * MiB)
  })

  it('a 50 MB reply announced by content-length is refused unread', async () => {
    let written: Promise<number> = Promise.resolve(0)
    const { receiver, sender } = await setup((_req, res) => {
      res.writeHead(200, { 'content-length': String(50 * 1000 * 1000) })
      written = flood(res, Buffer.alloc(64 * 1024, 0x20), 50 * 1000 * 1000)
    })
    const result = await sender.send(hook(receiver.url), delivery)
    expect(result.outcome).toEqual({ kind: 'failure', reason: 'reply larger than 1 MiB (decoded)' })
    await receiver.allClosed()
    expect(await written).toBeLessThan(20 * MiB)
  })

  it('a 50 MB error page is read only as far as the excerpt needs', async () => {
    let written: Promise<number> = Promise.resolve(0)
    const { receiver, sender } = await setup((_req, res) => {
      res.writeHead(502, { 'content-type': 'text/html' })
      written = flood(res, Buffer.alloc(64 * 1024, 0x41), 50 * 1000 * 1000)
    })
    const result = await sender.send(hook(receiver.url), delivery)
    expect(result.outcome).toEqual({ kind: 'failure', reason: 'HTTP 502' })
    expect(result.error).toMatch(/^HTTP 502; reply: AAAA/)
    expect(Buffer.byteLength(result.error ?? '')).toBeLessThanOrEqual(2048)
    await receiver.allClosed()
    expect(await written).toBeLessThan(20 * MiB)
  })

  describe('compression bombs are cut at 1 MiB of decoded bytes', () => {
    const bombs: Record<string, { encoding: string; body: Buffer; decoded: number }> = {}
    beforeAll(() => {
      // 64 MiB of zeros: about 64 KB of gzip, 102 bytes of brotli.
      const zeros = Buffer.alloc(64 * MiB)
      bombs.gzip = { encoding: 'gzip', body: gzipSync(zeros, { level: 9 }), decoded: 64 * MiB }
      bombs.br = {
        encoding: 'br',
        body: brotliCompressSync(zeros, { params: { [constants.BROTLI_PARAM_QUALITY]: 5 } }),
        decoded: 64 * MiB,
      }
      // 1 GiB in about 2.5 KB: 1024 concatenated gzip members of 1 MiB of zeros, gzipped again.
      const member = gzipSync(Buffer.alloc(MiB), { level: 9 })
      bombs['gzip, gzip'] = {
        encoding: 'gzip, gzip',
        body: gzipSync(Buffer.concat(Array.from({ length: 1024 }, () => member)), { level: 9 }),
        decoded: 1024 * MiB,
      }
    })

    it.each(['gzip', 'br', 'gzip, gzip'])('%s', async (name) => {
      const bomb = bombs[name]!
      expect(bomb.body.byteLength).toBeLessThan(100 * 1024)
      const { receiver, sender } = await setup((_req, res) => {
        res.writeHead(200, {
          'content-type': 'application/json',
          'content-encoding': bomb.encoding,
        })
        res.end(bomb.body)
      })
      const { result, growth } = await peakMemoryGrowth(() =>
        sender.send(hook(receiver.url), delivery),
      )
      expect(result.outcome).toEqual({
        kind: 'failure',
        reason: 'reply larger than 1 MiB (decoded)',
      })
      expect(result.status).toBe(200)
      expect(result.durationMs).toBeLessThan(2000)
      // Decoding it all would take 64 MiB to 1 GiB.
      expect(growth).toBeLessThan(32 * MiB)
    })
  })

  it('a body that is not what its content-encoding says is a failure', async () => {
    const { receiver, sender } = await setup((req, res) => {
      const encoding = req.url === '/zstd' ? 'zstd' : 'gzip'
      res.writeHead(200, { 'content-encoding': encoding }).end('{"not":"gzip"}')
    })
    const corrupt = await sender.send(hook(`${receiver.url}/gzip`), delivery)
    expect(corrupt.outcome.kind).toBe('failure')
    expect(corrupt.error).toMatch(/^reply could not be decoded \(gzip: .+\)$/)
    expect(corrupt.status).toBe(200)
    const unknown = await sender.send(hook(`${receiver.url}/zstd`), delivery)
    expect(unknown.outcome).toEqual({
      kind: 'failure',
      reason: 'unsupported content-encoding "zstd"',
    })
  })
})

describe('network errors', () => {
  it('a connection closed mid-body is a failure with the status received', async () => {
    const { receiver, sender } = await setup((_req, res) => {
      res.writeHead(200, { 'content-length': '100' })
      res.write('{"partial":')
      setTimeout(() => res.socket?.destroy(), 20)
    })
    const result = await sender.send(hook(receiver.url), delivery)
    expect(result.outcome.kind).toBe('failure')
    expect(result.status).toBe(200)
    expect(result.error).toBeTruthy()
  })

  it('a connection reset before any reply is a failure without status', async () => {
    const { receiver, sender } = await setup((req) => req.socket.destroy())
    const result = await sender.send(hook(receiver.url), delivery)
    expect(result.outcome.kind).toBe('failure')
    expect(result.status).toBeNull()
    expect(result.error).toMatch(/closed|reset|socket/i)
  })

  it('an unresolvable hostname is a failure naming DNS', async () => {
    const { sender } = await setup(
      () => {},
      async () => {
        throw Object.assign(new Error('getaddrinfo ENOTFOUND nowhere.invalid'), {
          code: 'ENOTFOUND',
        })
      },
    )
    const result = await sender.send(hook('http://nowhere.invalid/'), delivery)
    expect(result.outcome.kind).toBe('failure')
    expect(result.error).toBe(
      'DNS lookup failed (ENOTFOUND): getaddrinfo ENOTFOUND nowhere.invalid',
    )
  })
})
