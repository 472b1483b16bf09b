import type { LookupAddress } from 'node:dns'
import { type AddressInfo, createServer as createNetServer } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { createWebhookSender, type ResolveHostname } from '../../src/delivery/send.js'
import { countClientSockets, hook, type Receiver, sendJson, startReceiver } from './receiver.js'

// The address guard (contract §3, "Safety") through the real sender: every refused case must
// fail before Node creates a socket, proven with the `net.client.socket` diagnostics channel
// and with a receiver on 127.0.0.1 that counts the connections it accepts.

const closers: (() => Promise<void>)[] = []
afterEach(async () => {
  while (closers.length) await closers.pop()?.()
})

const delivery = { id: 'msg_guard', body: '{"email":"a@b.c"}' }

async function setup(options: { allowPrivate: boolean; resolve?: ResolveHostname }) {
  const receiver = await startReceiver((_req, res) => sendJson(res, 200, { reached: true }))
  const sender = createWebhookSender({ userAgent: 'joon/test', ...options })
  closers.push(receiver.close, () => sender.close())
  return { receiver, sender }
}

const REFUSAL =
  /^address (\S+) is not allowed \(([^)]+)\)( \(\S+ resolves to it\))?; set JOON_ALLOW_PRIVATE_URLS=1 for local development$/

/** The list, each with the address the refusal names and the reason it gives. */
function refusedUrls(receiver: Receiver): [url: string, address: string, reason: string][] {
  const port = receiver.port
  return [
    [`http://127.0.0.1:${port}/`, '127.0.0.1', 'loopback'],
    [`http://127.1:${port}/`, '127.0.0.1', 'loopback'],
    [`http://0x7f.1:${port}/`, '127.0.0.1', 'loopback'],
    [`http://2130706433:${port}/`, '127.0.0.1', 'loopback'],
    [`http://0177.0.0.1:${port}/`, '127.0.0.1', 'loopback'],
    [`http://[::1]:${port}/`, '::1', 'loopback'],
    [`http://[::ffff:7f00:1]:${port}/`, '::ffff:7f00:1', 'loopback, IPv4-mapped 127.0.0.1'],
    [`http://[::ffff:127.0.0.1]:${port}/`, '::ffff:7f00:1', 'loopback, IPv4-mapped 127.0.0.1'],
    [`http://[::127.0.0.1]:${port}/`, '::7f00:1', 'loopback, IPv4-compatible 127.0.0.1'],
    [`http://[64:ff9b::127.0.0.1]:${port}/`, '64:ff9b::7f00:1', 'loopback, NAT64 127.0.0.1'],
    [`http://0.0.0.0:${port}/`, '0.0.0.0', 'unspecified'],
    [`http://[::]:${port}/`, '::', 'unspecified'],
    ['http://169.254.169.254/latest/meta-data/', '169.254.169.254', 'cloud metadata'],
    ['http://[fd00:ec2::254]/latest/meta-data/', 'fd00:ec2::254', 'cloud metadata'],
    ['http://169.254.1.1/', '169.254.1.1', 'link-local'],
    ['http://[fe80::1]/', 'fe80::1', 'link-local'],
    ['http://10.0.0.1/', '10.0.0.1', 'private'],
    ['https://172.16.0.1/', '172.16.0.1', 'private'],
    ['http://192.168.1.1:8080/', '192.168.1.1', 'private'],
    ['http://[fd00::1]/', 'fd00::1', 'unique-local'],
    ['http://100.64.0.1/', '100.64.0.1', 'carrier-grade NAT'],
    ['http://224.0.0.1/', '224.0.0.1', 'multicast'],
    ['http://255.255.255.255/', '255.255.255.255', 'broadcast'],
    ['http://240.0.0.1/', '240.0.0.1', 'reserved'],
  ]
}

describe('allowPrivate: false refuses before any socket exists', () => {
  it('literal IPs, in every spelling WHATWG URL normalises', async () => {
    const looked: string[] = []
    const { receiver, sender } = await setup({
      allowPrivate: false,
      resolve: async (hostname) => {
        looked.push(hostname)
        return []
      },
    })
    for (const [url, address, reason] of refusedUrls(receiver)) {
      const { result, sockets } = await countClientSockets(() => sender.send(hook(url), delivery))
      expect(result.outcome, url).toEqual({
        kind: 'failure',
        reason: `address ${address} is not allowed (${reason}); set JOON_ALLOW_PRIVATE_URLS=1 for local development`,
      })
      expect(result.error).toBe(result.outcome.kind === 'failure' ? result.outcome.reason : null)
      expect(result.status).toBeNull()
      expect(result.durationMs).toBeLessThan(500)
      expect(sockets, url).toBe(0)
    }
    expect(receiver.connections).toBe(0)
    // Literal addresses never reach DNS.
    expect(looked).toEqual([])
  })

  it('`localhost` through the system resolver', async () => {
    const { receiver, sender } = await setup({ allowPrivate: false })
    const { result, sockets } = await countClientSockets(() =>
      sender.send(hook(`http://localhost:${receiver.port}/`), delivery),
    )
    expect(result.outcome.kind).toBe('failure')
    expect(result.error).toMatch(REFUSAL)
    expect(result.error).toMatch(/\(loopback\) \(localhost resolves to it\)/)
    expect(sockets).toBe(0)
    expect(receiver.connections).toBe(0)
  })

  it('a public-looking hostname whose DNS answer is 127.0.0.1, or any answer private', async () => {
    const answers: Record<string, LookupAddress[]> = {
      'public.example': [{ address: '127.0.0.1', family: 4 }],
      'mixed.example': [
        { address: '93.184.216.34', family: 4 },
        { address: '10.0.0.1', family: 4 },
      ],
      'v6.example': [
        { address: '2606:4700:4700::1111', family: 6 },
        { address: '::ffff:7f00:1', family: 6 },
      ],
      'metadata.example': [{ address: '169.254.169.254', family: 4 }],
    }
    const { receiver, sender } = await setup({
      allowPrivate: false,
      resolve: async (hostname) => answers[hostname] ?? [],
    })
    const expected: Record<string, string> = {
      'public.example':
        'address 127.0.0.1 is not allowed (loopback) (public.example resolves to it)',
      'mixed.example': 'address 10.0.0.1 is not allowed (private) (mixed.example resolves to it)',
      'v6.example':
        'address ::ffff:7f00:1 is not allowed (loopback, IPv4-mapped 127.0.0.1) (v6.example resolves to it)',
      'metadata.example':
        'address 169.254.169.254 is not allowed (cloud metadata) (metadata.example resolves to it)',
    }
    for (const [hostname, message] of Object.entries(expected)) {
      const { result, sockets } = await countClientSockets(() =>
        sender.send(hook(`http://${hostname}:${receiver.port}/hooks`), delivery),
      )
      expect(result.error, hostname).toBe(
        `${message}; set JOON_ALLOW_PRIVATE_URLS=1 for local development`,
      )
      expect(result.status).toBeNull()
      expect(sockets, hostname).toBe(0)
    }
    expect(receiver.connections).toBe(0)
  })
})

describe('allowPrivate: true (JOON_ALLOW_PRIVATE_URLS=1)', () => {
  it('reaches 127.0.0.1 in every spelling, and hostnames resolving to it', async () => {
    const resolved: string[] = []
    const { receiver, sender } = await setup({
      allowPrivate: true,
      resolve: async (hostname) => {
        resolved.push(hostname)
        return [{ address: '127.0.0.1', family: 4 }]
      },
    })
    const port = receiver.port
    for (const url of [
      `http://127.0.0.1:${port}/`,
      `http://127.1:${port}/`,
      `http://0x7f.1:${port}/`,
      `http://2130706433:${port}/`,
      `http://[::ffff:7f00:1]:${port}/`,
      `http://public.example:${port}/`,
    ]) {
      const result = await sender.send(hook(url), delivery)
      expect(result.outcome, url).toEqual({ kind: 'merge', variables: [['reached', true]] })
    }
    expect(resolved).toEqual(['public.example'])
    // The socket counter does see real connections (so its zeros above mean something).
    const { sockets } = await countClientSockets(() =>
      sender.send(hook(`http://localhost:${port}/`), delivery),
    )
    expect(sockets).toBe(1)
    // The Host header names the URL's host, not the address connected to.
    expect(receiver.requests[5]?.headers.host).toBe(`public.example:${port}`)
  })

  it('tries the next checked address when one refuses the connection', async () => {
    const { receiver, sender } = await setup({
      allowPrivate: true,
      resolve: async () => [
        { address: '::1', family: 6 },
        { address: '127.0.0.1', family: 4 },
      ],
    })
    const result = await sender.send(
      hook(`http://two-addresses.example:${receiver.port}/`),
      delivery,
    )
    expect(result.outcome).toEqual({ kind: 'merge', variables: [['reached', true]] })
  })
})

describe('TLS through the guard', () => {
  it('connects to the checked address and still names the host in SNI, for certificate checks', async () => {
    // A raw TCP listener reads the ClientHello (SNI travels in clear) and hangs up.
    const hellos: Buffer[] = []
    const server = createNetServer((socket) => {
      socket.once('data', (chunk: Buffer) => {
        hellos.push(chunk)
        socket.destroy()
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())))
    const { port } = server.address() as AddressInfo
    const sender = createWebhookSender({
      allowPrivate: true,
      userAgent: 'joon/test',
      resolve: async () => [{ address: '127.0.0.1', family: 4 }],
    })
    closers.push(() => sender.close())
    const result = await sender.send(hook(`https://tls.public.example:${port}/`), delivery)
    expect(result.outcome.kind).toBe('failure')
    expect(hellos).toHaveLength(1)
    expect(hellos[0]?.includes('tls.public.example')).toBe(true)
  })
})
