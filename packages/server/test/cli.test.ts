import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { type JoonProcess, runJoon, startJoon } from './cli-process.js'
import { bodyOf, leadGenBot } from './helpers.js'

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
    const first = await startJoon(args, { JOON_ADMIN_TOKEN: 't' })
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

    const second = await startJoon(args, { JOON_ADMIN_TOKEN: 't' })
    processes.push(second)
    const view = await bodyOf(await fetch(`${second.url}/api/v1/conversations/${id}`))
    expect(view.input).toMatchObject({ type: 'email' })
    await post(`${second.url}/api/v1/conversations/${id}/replies`, { text: 'nicolas@joonbot.com' })
    const last = await post(`${second.url}/api/v1/conversations/${id}/replies`, {
      text: '0612345678',
    })
    expect(last.json.ended).toBe(true)
    const deliveries = await fetch(`${second.url}/api/v1/admin/deliveries`, {
      headers: { authorization: 'Bearer t' },
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
    const port = await runJoon(['serve', '--port', 'abc'])
    expect(port.code).toBe(1)
    expect(port.output).toContain('port')
    const usage = await runJoon(['frobnicate'])
    expect(usage.code).toBe(2)
    expect(usage.output).toContain('Usage: joon serve')
  })
})
