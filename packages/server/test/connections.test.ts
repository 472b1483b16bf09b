import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { connect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { DEFAULT_MAX_CONNECTIONS_PER_ADDRESS } from '../src/connections.js'
import { type RunningServer, startNodeServer } from '../src/node.js'
import { MemoryStore } from '../src/store/memory.js'
import { type JoonProcess, startJoon } from './cli-process.js'
import { leadGenBot } from './helpers.js'

const cleanups: (() => unknown)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

interface Attempt {
  socket: Socket
  received: string
  closed: Promise<void>
}

/** Opens a connection from `from` (any 127.x address reaches 127.0.0.1) and sends `text`. */
function halfSent(port: number, from: string, text: string): Attempt {
  const socket = connect({ host: '127.0.0.1', port, localAddress: from })
  const attempt: Attempt = { socket, received: '', closed: Promise.resolve() }
  socket.on('connect', () => socket.write(text))
  socket.on('data', (chunk) => {
    attempt.received += chunk
  })
  socket.on('error', () => {})
  attempt.closed = new Promise((resolve) => socket.on('close', () => resolve()))
  return attempt
}

/**
 * A client that keeps `parallel` half-sent requests open, opening a new one whenever the
 * server closes one, until stopped or `maxAttempts` are spent.
 */
function attack(port: number, from: string, parallel: number, maxAttempts: number) {
  const attempts: Attempt[] = []
  const waiters: { count: number; resolve: () => void }[] = []
  let closed = 0
  let stopped = false
  const open = () => {
    if (stopped || attempts.length >= maxAttempts) return
    const attempt = halfSent(port, from, attempts.length % 2 === 0 ? HALF_HEADERS : HALF_BODY)
    attempts.push(attempt)
    attempt.closed.then(() => {
      closed++
      for (const waiter of waiters) if (closed >= waiter.count) waiter.resolve()
      open()
    })
  }
  for (let i = 0; i < parallel; i++) open()
  return {
    attempts,
    /** Resolves once the server has closed `count` connections. */
    closed: (count: number) =>
      new Promise<void>((resolve) => {
        if (closed >= count) resolve()
        else waiters.push({ count, resolve })
      }),
    /** Stops opening new connections; resolves once every one is closed. */
    stop: () => {
      stopped = true
      return Promise.all(attempts.map((attempt) => attempt.closed))
    },
  }
}

const HALF_HEADERS = 'GET /healthz HTTP/1.1\r\nhost: x\r\nx-slow: '
const HALF_BODY =
  'POST /api/v1/bots/lead-gen/conversations HTTP/1.1\r\nhost: x\r\ncontent-length: 1000\r\n\r\n{"variables":'

/** Resolves once `count` of the attempts have closed. */
function closedCount(attempts: readonly Attempt[], count: number): Promise<void> {
  let closed = 0
  return new Promise((resolve) => {
    if (count <= 0) resolve()
    for (const attempt of attempts) {
      attempt.closed.then(() => {
        if (++closed === count) resolve()
      })
    }
  })
}

describe('connection limits', () => {
  it('cuts one client holding many half-sent requests while others, /healthz included, are answered', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'joon-connections-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    await mkdir(join(dir, 'bots'))
    writeFileSync(join(dir, 'bots', 'lead-gen.json'), JSON.stringify(leadGenBot))
    writeFileSync(
      join(dir, 'webhooks.json'),
      JSON.stringify([{ name: 'crm', url: 'https://crm.example.com/hooks' }]),
    )
    const server: JoonProcess = await startJoon(
      [
        ...['--data', join(dir, 'joon.db'), '--bots', join(dir, 'bots')],
        ...['--webhooks', join(dir, 'webhooks.json'), '--headers-timeout', '3s'],
        ...['--body-timeout', '4s'],
      ],
      {},
      { shell: 'ulimit -n 256' },
    )
    cleanups.push(() => server.kill())
    // The server really runs with 256 descriptors: more half-sent requests than that would
    // have locked everyone out without a cap.
    expect(readFileSync(`/proc/${server.child.pid}/limits`, 'utf8')).toMatch(
      /Max open files\s+256\s+256/,
    )
    const { port } = new URL(server.url)
    // 400 at once, more than the server's descriptors, reopened as soon as one is closed.
    const attacker = attack(Number(port), '127.0.0.2', 400, 3_000)
    cleanups.push(() => {
      for (const attempt of attacker.attempts) attempt.socket.destroy()
    })
    const cap = DEFAULT_MAX_CONNECTIONS_PER_ADDRESS
    // Every connection over the cap is closed at once; the rest are held by the attacker.
    await attacker.closed(400 - cap)

    // While the attacker goes on reconnecting, everyone else is answered.
    for (let i = 0; i < 5; i++) {
      const health = await fetch(`${server.url}/healthz`)
      expect(health.status).toBe(200)
      const started = await fetch(`${server.url}/api/v1/bots/lead-gen/conversations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      })
      expect(started.status).toBe(201)
    }

    // The held ones are cut by the timeouts (408), not left open.
    await attacker.stop()
    const timedOut = attacker.attempts.filter((a) => a.received.startsWith('HTTP/1.1 408'))
    expect(timedOut.length).toBeGreaterThan(0)
    expect(timedOut.length).toBeLessThanOrEqual(cap)
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200)
    expect(server.output()).toContain('"event":"http.connections_refused"')
  }, 30_000)

  it('cuts 1,000 sockets dripping their bodies a byte at a time once the body timeout passes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'joon-drip-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    await mkdir(join(dir, 'bots'))
    writeFileSync(join(dir, 'bots', 'lead-gen.json'), JSON.stringify(leadGenBot))
    writeFileSync(
      join(dir, 'webhooks.json'),
      JSON.stringify([{ name: 'crm', url: 'https://crm.example.com/hooks' }]),
    )
    const server = await startJoon([
      ...['--data', join(dir, 'joon.db'), '--bots', join(dir, 'bots')],
      ...['--webhooks', join(dir, 'webhooks.json')],
      ...['--headers-timeout', '2s', '--body-timeout', '2s'],
    ])
    cleanups.push(() => server.kill())
    const port = Number(new URL(server.url).port)
    // 100 from each of 10 addresses (under the per-address cap), each announcing a body and
    // sending one byte of it every 200 ms: a byte keeps arriving, the body never does.
    const drips: Attempt[] = []
    const timers: NodeJS.Timeout[] = []
    cleanups.push(() => {
      for (const timer of timers) clearInterval(timer)
      for (const drip of drips) drip.socket.destroy()
    })
    // Opened 100 at a time, so the listen backlog never overflows (that would refuse some).
    for (let batch = 0; batch < 10; batch++) {
      const opened: Promise<unknown>[] = []
      for (let i = 0; i < 100; i++) {
        const drip = halfSent(port, `127.0.0.${10 + (i % 10)}`, HALF_BODY)
        opened.push(
          new Promise((resolve) => drip.socket.once('connect', resolve).once('close', resolve)),
        )
        timers.push(
          setInterval(() => {
            // After the request's start, which goes out on connect.
            if (!drip.socket.destroyed && !drip.socket.connecting) drip.socket.write(' ')
          }, 200),
        )
        drips.push(drip)
      }
      await Promise.all(opened)
    }
    // Meanwhile everyone else is answered.
    const health = await fetch(`${server.url}/healthz`)
    expect(health.status).toBe(200)
    await closedCount(drips, drips.length)
    const cut = drips.filter((drip) => drip.received.startsWith('HTTP/1.1 408'))
    expect(cut.length).toBe(drips.length)
    const started = await fetch(`${server.url}/api/v1/bots/lead-gen/conversations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    })
    expect(started.status).toBe(201)
  }, 30_000)

  it('behind a trusted proxy, caps requests in flight per forwarded address', async () => {
    const server: RunningServer = await startNodeServer({
      store: new MemoryStore(),
      port: 0,
      host: '127.0.0.1',
      rateLimit: 0,
      trustProxy: true,
      maxConnectionsPerAddress: 2,
    })
    cleanups.push(() => server.close())
    const port = Number(new URL(server.url).port)
    const slowBody = (address: string) =>
      `POST /api/v1/bots/x/conversations HTTP/1.1\r\nhost: x\r\nx-forwarded-for: ${address}\r\ncontent-length: 100\r\n\r\n{`
    // All from the proxy's one socket address: counted by X-Forwarded-For.
    const held = Array.from({ length: 3 }, () =>
      halfSent(port, '127.0.0.1', slowBody('203.0.113.1')),
    )
    cleanups.push(() => {
      for (const attempt of held) attempt.socket.destroy()
    })
    await closedCount(held, 1)
    const refused = held.filter((attempt) => attempt.received.startsWith('HTTP/1.1 429'))
    expect(refused).toHaveLength(1)
    expect(refused[0]?.received).toContain('"code":"too_many_connections"')

    const other = await fetch(`${server.url}/healthz`, {
      headers: { 'x-forwarded-for': '198.51.100.2' },
    })
    expect(other.status).toBe(200)
    // The held requests end (here: the client gives up); the address may send again.
    for (const attempt of held) attempt.socket.destroy()
    let status = 429
    for (let tries = 0; status === 429 && tries < 50; tries++) {
      if (tries > 0) await new Promise((resolve) => setTimeout(resolve, 20))
      status = (
        await fetch(`${server.url}/healthz`, { headers: { 'x-forwarded-for': '203.0.113.1' } })
      ).status
    }
    expect(status).toBe(200)
  })
})
