import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { type JoonProcess, runJoon, startJoon } from './cli-process.js'
import { bodyOf, leadGenBot } from './helpers.js'

const ADMIN = 'cli-test-admin-token'
const dirs: string[] = []
const processes: JoonProcess[] = []
afterEach(() => {
  for (const p of processes.splice(0)) p.child.kill('SIGKILL')
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

async function workspace() {
  const dir = mkdtempSync(join(tmpdir(), 'joon-cli-'))
  dirs.push(dir)
  await mkdir(join(dir, 'bots'))
  writeFileSync(join(dir, 'bots', 'lead-gen.json'), JSON.stringify(leadGenBot))
  writeFileSync(
    join(dir, 'webhooks.json'),
    JSON.stringify([{ name: 'crm', url: 'https://crm.example.com/hooks' }]),
  )
  return dir
}

async function post(url: string, body: unknown) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  return { status: response.status, json: await bodyOf(response) }
}

describe('joon serve', () => {
  it('holds a conversation, drains on SIGTERM, and resumes it after a restart', async () => {
    const dir = await workspace()
    const args = [
      '--data',
      join(dir, 'data', 'joon.db'),
      '--bots',
      join(dir, 'bots'),
      '--webhooks',
      join(dir, 'webhooks.json'),
    ]
    const first = await startJoon(args, { JOON_ADMIN_TOKEN: ADMIN })
    processes.push(first)
    expect(await (await fetch(`${first.url}/healthz`)).json()).toEqual({ status: 'ok' })
    const start = await post(`${first.url}/api/v1/bots/lead-gen/conversations`, {})
    expect(start.status).toBe(201)
    const id = start.json.conversationId
    expect(
      (await post(`${first.url}/api/v1/conversations/${id}/replies`, { text: 'Just browsing' }))
        .status,
    ).toBe(200)
    first.child.kill('SIGTERM')
    expect(await first.exited).toBe(0)

    const second = await startJoon(args, { JOON_ADMIN_TOKEN: ADMIN })
    processes.push(second)
    const view = await bodyOf(await fetch(`${second.url}/api/v1/conversations/${id}`))
    expect(view.input).toMatchObject({ type: 'email' })
    await post(`${second.url}/api/v1/conversations/${id}/replies`, { text: 'nicolas@joonbot.com' })
    const last = await post(`${second.url}/api/v1/conversations/${id}/replies`, {
      text: '0612345678',
    })
    expect(last.json.ended).toBe(true)
    const deliveries = await fetch(`${second.url}/api/v1/admin/deliveries`, {
      headers: { authorization: `Bearer ${ADMIN}` },
    })
    expect((await bodyOf(deliveries)).deliveries).toHaveLength(1)
  })

  it('refuses to start on a bad bot file, naming the file and the block', async () => {
    const dir = await workspace()
    const broken = {
      ...leadGenBot,
      blocks: leadGenBot.blocks.map((b) => (b.id === 'ask-phone' ? { ...b, next: 'nowhere' } : b)),
    }
    writeFileSync(join(dir, 'bots', 'broken.json'), JSON.stringify({ ...broken, id: 'broken' }))
    const result = await runJoon([
      'serve',
      '--port',
      '0',
      '--data',
      join(dir, 'joon.db'),
      '--bots',
      join(dir, 'bots'),
      '--webhooks',
      join(dir, 'webhooks.json'),
    ])
    expect(result.code).toBe(1)
    expect(result.output).toContain('broken.json')
    expect(result.output).toContain('ask-phone')
    expect(result.output).toContain('nowhere')
    expect(result.output).not.toMatch(/\n\s+at /)
  })

  it('refuses bad webhooks files and bad settings with a clear message', async () => {
    const dir = await workspace()
    writeFileSync(join(dir, 'bad.json'), '{ not json')
    const bad = await runJoon([
      'serve',
      '--port',
      '0',
      '--data',
      join(dir, 'joon.db'),
      '--webhooks',
      join(dir, 'bad.json'),
    ])
    expect(bad.code).toBe(1)
    expect(bad.output).toContain('bad.json: not valid JSON')
    writeFileSync(
      join(dir, 'headers.json'),
      JSON.stringify([{ name: 'crm', url: 'https://crm.example.com', headers: { 'X-A': 'é€😀' } }]),
    )
    const header = await runJoon([
      'serve',
      '--port',
      '0',
      '--data',
      join(dir, 'joon.db'),
      '--webhooks',
      join(dir, 'headers.json'),
    ])
    expect(header.code).toBe(1)
    expect(header.output).toContain('headers.json: webhook #1 "crm" is not valid')
    expect(header.output).toContain('header "X-A" has a value that cannot be sent in HTTP')
    const port = await runJoon(['serve', '--port', 'abc'])
    expect(port.code).toBe(1)
    expect(port.output).toContain('port')
    const usage = await runJoon(['frobnicate'])
    expect(usage.code).toBe(2)
    expect(usage.output).toContain('Usage: joon serve')
  })

  it('refuses an unknown option with exit code 2, naming the closest valid one', async () => {
    const cases: [string[], string][] = [
      [['serve', '--prot', '8787'], 'unknown option --prot; did you mean --port?'],
      [['serve', '--webhook', 'w.json'], 'unknown option --webhook; did you mean --webhooks?'],
      [['serve', '--body-timout=5s'], 'unknown option --body-timout; did you mean --body-timeout?'],
      [['serve', '--HOST', 'x'], 'unknown option --HOST; did you mean --host?'],
    ]
    for (const [args, message] of cases) {
      const result = await runJoon(args)
      expect(result.code, args.join(' ')).toBe(2)
      expect(result.output).toContain(`joon: ${message}\n`)
      expect(result.output).toContain('joon serve --help')
      expect(result.output).not.toMatch(/\n\s+at /)
    }
    const far = await runJoon(['serve', '--frobnicate'])
    expect(far.code).toBe(2)
    expect(far.output).toContain('unknown option --frobnicate\n')
    expect(far.output).not.toContain('did you mean')
    const missing = await runJoon(['serve', '--port'])
    expect(missing.code).toBe(2)
    expect(missing.output).toContain('--port')
  })

  it('refuses an admin token shorter than 16 characters unless told to allow it', async () => {
    const dir = await workspace()
    const args = ['serve', '--port', '0', '--host', '127.0.0.1', '--data', join(dir, 'joon.db')]
    const short = await runJoon(args, { JOON_ADMIN_TOKEN: 'fifteen-chars!!' })
    expect(short.code).toBe(1)
    expect(short.output).toContain('JOON_ADMIN_TOKEN is 15 characters long; use at least 16')
    expect(short.output).toContain('joon token')
    expect(short.output).toContain('JOON_ALLOW_SHORT_ADMIN_TOKEN=1')
    expect(short.output).not.toMatch(/\n\s+at /)
    const allowed = await startJoon(['--data', join(dir, 'joon.db')], {
      JOON_ADMIN_TOKEN: 't',
      JOON_ALLOW_SHORT_ADMIN_TOKEN: '1',
    })
    processes.push(allowed)
    const response = await fetch(`${allowed.url}/api/v1/admin/bots`, {
      headers: { authorization: 'Bearer t' },
    })
    expect(response.status).toBe(200)
  })

  it('prints a strong random token with `joon token`', async () => {
    const [first, second] = await Promise.all([runJoon(['token']), runJoon(['token'])])
    expect(first.code).toBe(0)
    expect(first.output).toMatch(/^[A-Za-z0-9_-]{43}\n$/)
    expect(second.output).not.toBe(first.output)
    // It is accepted as it is.
    const dir = await workspace()
    const server = await startJoon(['--data', join(dir, 'joon.db')], {
      JOON_ADMIN_TOKEN: first.output.trim(),
    })
    processes.push(server)
    const response = await fetch(`${server.url}/api/v1/admin/bots`, {
      headers: { authorization: `Bearer ${first.output.trim()}` },
    })
    expect(response.status).toBe(200)
  })

  it('prints the address it really binds: 0.0.0.0 for every interface, else the --host given', async () => {
    const dir = await workspace()
    const all = await startJoon(['--host', '0.0.0.0', '--data', join(dir, 'all.db')])
    processes.push(all)
    expect(all.output()).toMatch(/listening on http:\/\/0\.0\.0\.0:\d+\n/)
    const local = await startJoon(['--data', join(dir, 'local.db')])
    processes.push(local)
    expect(local.output()).toMatch(/listening on http:\/\/127\.0\.0\.1:\d+\n/)
    const port = /:(\d+)\n/.exec(all.output())?.[1]
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200)
  })

  it('warns at start about webhooks whose calls the address guard will refuse', async () => {
    const dir = await workspace()
    writeFileSync(
      join(dir, 'hooks.json'),
      JSON.stringify([
        { name: 'local', url: 'http://127.0.0.1:9/hook' },
        { name: 'crm', url: 'https://crm.example.com/hook' },
      ]),
    )
    const args = ['--data', join(dir, 'joon.db'), '--webhooks', join(dir, 'hooks.json')]
    const guarded = await startJoon(args, { JOON_ALLOW_PRIVATE_URLS: '' })
    processes.push(guarded)
    expect(guarded.output()).toContain(
      'joon: warning: calls to webhook "local" will fail: address 127.0.0.1 is not allowed (loopback); set JOON_ALLOW_PRIVATE_URLS=1 for local development',
    )
    expect(guarded.output()).not.toContain('"crm"')
    const allowed = await startJoon(args, { JOON_ALLOW_PRIVATE_URLS: '1' })
    processes.push(allowed)
    expect(allowed.output()).not.toContain('warning')
  })

  it('warns at start when the alert webhook is not registered, and not when it is', async () => {
    const dir = await workspace()
    const args = ['--data', join(dir, 'joon.db'), '--webhooks', join(dir, 'webhooks.json')]
    const missing = await startJoon([...args, '--alert-webhook', 'ops'])
    processes.push(missing)
    expect(missing.output()).toContain(
      'joon: warning: the alert webhook "ops" (--alert-webhook / JOON_ALERT_WEBHOOK) is not registered',
    )
    missing.child.kill('SIGKILL')
    const present = await startJoon(args, { JOON_ALERT_WEBHOOK: 'crm' })
    processes.push(present)
    expect(present.output()).not.toContain('alert webhook')
    const bad = await runJoon(['serve', '--port', '0', ...args, '--alert-webhook', 'no such'])
    expect(bad.code).toBe(1)
    expect(bad.output).toContain("--alert-webhook / JOON_ALERT_WEBHOOK must be a webhook's name")
  })

  it('validates bots, bot folders and webhooks files with `joon validate`, as serve would', async () => {
    const dir = await workspace()
    const ok = await runJoon(['validate', join(dir, 'webhooks.json'), join(dir, 'bots')])
    expect(ok.code).toBe(0)
    expect(ok.output).toContain('webhooks.json: 1 valid webhook')
    expect(ok.output).toContain('lead-gen.json: bot "lead-gen" is valid')

    const broken = {
      ...leadGenBot,
      id: 'broken',
      blocks: leadGenBot.blocks.map((b) => (b.id === 'ask-phone' ? { ...b, next: 'nowhere' } : b)),
    }
    writeFileSync(join(dir, 'broken.json'), JSON.stringify(broken))
    const bad = await runJoon([
      'validate',
      join(dir, 'webhooks.json'),
      join(dir, 'broken.json'),
      join(dir, 'bots'),
    ])
    expect(bad.code).toBe(1)
    // The same message `joon serve` stops with.
    await mkdir(join(dir, 'broken'))
    writeFileSync(join(dir, 'broken', 'broken.json'), JSON.stringify(broken))
    const served = await runJoon([
      'serve',
      '--port',
      '0',
      '--data',
      join(dir, 'joon.db'),
      '--webhooks',
      join(dir, 'webhooks.json'),
      '--bots',
      join(dir, 'broken'),
    ])
    expect(served.code).toBe(1)
    const issues = (output: string) => output.slice(output.indexOf('the bot is not valid'))
    expect(issues(served.output).split('\n')[1]).toContain('"nowhere"')
    expect(issues(bad.output).split('\n').slice(0, 2)).toEqual(
      issues(served.output).split('\n').slice(0, 2),
    )
    expect(bad.output).toContain('lead-gen.json: bot "lead-gen" is valid')

    // Bots are checked against the webhooks files given: an unknown webhook name is an error.
    writeFileSync(
      join(dir, 'other.json'),
      JSON.stringify([{ name: 'mailer', url: 'https://m.example.com' }]),
    )
    const unknown = await runJoon(['validate', join(dir, 'other.json'), join(dir, 'bots')])
    expect(unknown.code).toBe(1)
    expect(unknown.output).toContain('"crm"')

    const missing = await runJoon(['validate'])
    expect(missing.code).toBe(2)
    expect(missing.output).toContain('validate needs a file or folder')
  })

  it('lists every setting of docs/configuration.md with its default in `joon --help`', async () => {
    const table = readFileSync(new URL('../../../docs/configuration.md', import.meta.url), 'utf8')
      .split('\n')
      .filter((line) => /^\| (`-|\s+\| `[A-Z])/.test(line))
      .map((line) => line.split('|').map((cell) => cell.trim()))
    expect(table.length).toBeGreaterThan(15)
    for (const args of [['--help'], ['serve', '--help']]) {
      const help = await runJoon(args)
      expect(help.code).toBe(0)
      for (const [, flags = '', variable = '', defaultValue = ''] of table) {
        for (const name of `${flags} ${variable}`.match(/--?[a-z][a-z-]*|[A-Z][A-Z_]+[A-Z]/g) ??
          []) {
          expect(help.output, name).toContain(name)
        }
        const value = defaultValue.replaceAll('`', '')
        if (value) expect(help.output, `${flags}${variable} default`).toContain(`default ${value}`)
      }
    }
  })

  it('refuses bad connection settings, naming the flag', async () => {
    const cases: [string[], Record<string, string>, string][] = [
      [['--headers-timeout', 'soon'], {}, '--headers-timeout / JOON_HEADERS_TIMEOUT'],
      [[], { JOON_BODY_TIMEOUT: '0' }, '--body-timeout / JOON_BODY_TIMEOUT must be more than 0'],
      [['--headers-timeout', '20s', '--body-timeout', '10s'], {}, 'must not be shorter'],
      [[], { JOON_MAX_CONNECTIONS_PER_ADDRESS: '-1' }, 'JOON_MAX_CONNECTIONS_PER_ADDRESS must be'],
    ]
    for (const [flags, env, message] of cases) {
      const result = await runJoon(['serve', '--port', '0', '--data', ':memory:', ...flags], env)
      expect(result.code, message).toBe(1)
      expect(result.output).toContain(message)
    }
  })
})
