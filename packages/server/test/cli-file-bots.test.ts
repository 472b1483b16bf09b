import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { type JoonProcess, startJoon } from './cli-process.js'
import { bodyOf, leadGenBot } from './helpers.js'

/**
 * Issue 14: a bot loaded from `--bots DIR` and edited in the console must not come back as
 * the file's version after a restart, silently. Through the real `joon serve` on one SQLite
 * file: the file becomes a new version only when it changed since it was last read.
 */

const ADMIN = 'cli-file-bots-admin-token'
const dirs: string[] = []
const processes: JoonProcess[] = []
afterEach(() => {
  for (const p of processes.splice(0)) p.child.kill('SIGKILL')
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

async function workspace() {
  const dir = mkdtempSync(join(tmpdir(), 'joon-file-bots-'))
  dirs.push(dir)
  await mkdir(join(dir, 'bots'))
  writeFileSync(join(dir, 'bots', 'lead-gen.json'), JSON.stringify(leadGenBot))
  writeFileSync(
    join(dir, 'webhooks.json'),
    JSON.stringify([{ name: 'crm', url: 'https://crm.example.com/hooks' }]),
  )
  const args = [
    '--data',
    join(dir, 'joon.db'),
    '--bots',
    join(dir, 'bots'),
    '--webhooks',
    join(dir, 'webhooks.json'),
  ]
  return { dir, args, file: join(dir, 'bots', 'lead-gen.json') }
}

async function restart(previous: JoonProcess | undefined, args: string[]) {
  if (previous) {
    previous.child.kill('SIGTERM')
    expect(await previous.exited).toBe(0)
  }
  const server = await startJoon(args, { JOON_ADMIN_TOKEN: ADMIN })
  processes.push(server)
  return server
}

async function admin(server: JoonProcess, method: string, path: string, body?: unknown) {
  const response = await fetch(`${server.url}/api/v1/admin${path}`, {
    method,
    headers: {
      authorization: `Bearer ${ADMIN}`,
      'content-type': 'application/json',
      'x-joon-source': 'console',
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  return { status: response.status, json: await bodyOf(response) }
}

const sourcesOf = async (server: JoonProcess) =>
  (await admin(server, 'GET', '/bots/lead-gen/versions')).json.versions.map(
    (v: { version: number; source: string }) => `${v.version}:${v.source}`,
  )

describe('joon serve --bots DIR and bot versions', () => {
  it('keeps a console edit across restarts while the file is unchanged; a changed file wins, the edit stays in the history', async () => {
    const { args, file } = await workspace()
    let server = await restart(undefined, args)
    const listed = await admin(server, 'GET', '/bots/lead-gen/versions')
    expect(listed.json.file).toEqual({ path: file })
    expect(await sourcesOf(server)).toEqual(['1:file'])

    const edited = { ...leadGenBot, name: 'Edited in the console' }
    expect((await admin(server, 'PUT', '/bots/lead-gen', edited)).status).toBe(200)

    // Same file: the edit stays the latest, and nothing new is saved.
    server = await restart(server, args)
    expect((await admin(server, 'GET', '/bots/lead-gen')).json.name).toBe('Edited in the console')
    expect(await sourcesOf(server)).toEqual(['2:console', '1:file'])
    server = await restart(server, args)
    expect(await sourcesOf(server)).toEqual(['2:console', '1:file'])

    // The file changed: it becomes the new version; the edit is kept and restorable.
    writeFileSync(file, JSON.stringify({ ...leadGenBot, name: 'Changed on disk' }))
    server = await restart(server, args)
    expect(server.output()).toContain('changed, saved as version 3 of bot "lead-gen"')
    expect((await admin(server, 'GET', '/bots/lead-gen')).json.name).toBe('Changed on disk')
    expect(await sourcesOf(server)).toEqual(['3:file', '2:console', '1:file'])
    expect((await admin(server, 'GET', '/bots/lead-gen/versions/2')).json.name).toBe(
      'Edited in the console',
    )
    const restored = await admin(server, 'POST', '/bots/lead-gen/versions/2/restore')
    expect(restored.json.name).toBe('Edited in the console')

    // The restored edit survives the next start too: the file did not change again.
    server = await restart(server, args)
    expect((await admin(server, 'GET', '/bots/lead-gen')).json.name).toBe('Edited in the console')
    expect(server.output()).toContain('unchanged since version 3; bot "lead-gen" keeps version 4')
    expect(await sourcesOf(server)).toEqual(['4:console', '3:file', '2:console', '1:file'])
    expect((await admin(server, 'GET', '/bots/lead-gen/versions')).json.file).toEqual({
      path: file,
    })
  }, 60_000)
})
