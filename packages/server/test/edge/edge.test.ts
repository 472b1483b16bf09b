import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bodyOf, leadGenBot } from '../helpers.js'

const here = dirname(fileURLToPath(import.meta.url))
const dist = resolve(here, '../../dist')
const bunBinary = join(
  dirname(createRequire(import.meta.url).resolve('bun/package.json')),
  'bin',
  'bun.exe',
)

/** Every module file reachable from dist/edge.js through relative imports. */
function localModules(entry: string, seen = new Set<string>()): Set<string> {
  if (seen.has(entry)) return seen
  seen.add(entry)
  const source = readFileSync(entry, 'utf8')
  for (const match of source.matchAll(/(?:import|export)[^'"]*?from\s*['"](\.[^'"]+)['"]/g)) {
    localModules(resolve(dirname(entry), match[1] ?? ''), seen)
  }
  return seen
}

describe('edge entry', () => {
  it('imports no node: module anywhere below it', () => {
    const files = localModules(join(dist, 'edge.js'))
    expect(files.size).toBeGreaterThan(3)
    for (const file of files) {
      const source = readFileSync(file, 'utf8')
      expect({
        file,
        nodeImports: source.match(/from\s*['"](node:[^'"]+|undici|better-sqlite3|pg)['"]/g),
      }).toEqual({
        file,
        nodeImports: null,
      })
    }
  })

  describe('under Bun', () => {
    let child: ChildProcess
    let url = ''
    beforeAll(async () => {
      child = spawn(bunBinary, [join(here, 'serve-bun.mjs')], { stdio: ['ignore', 'pipe', 'pipe'] })
      url = await new Promise<string>((resolvePromise, reject) => {
        let output = ''
        child.stdout?.on('data', (chunk: Buffer) => {
          output += chunk
          const match = /listening (\S+) runtime=bun/.exec(output)
          if (match?.[1]) resolvePromise(match[1])
        })
        child.stderr?.on('data', (chunk: Buffer) => {
          output += chunk
        })
        child.on('exit', (code) => reject(new Error(`bun exited ${code}: ${output}`)))
      })
    })
    afterAll(() => {
      child?.kill('SIGKILL')
    })

    it('holds a conversation over HTTP', async () => {
      const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
        const response = await fetch(url + path, {
          method: path.includes('/admin/') ? 'PUT' : 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: JSON.stringify(body),
        })
        return { status: response.status, json: await bodyOf(response) }
      }
      const auth = { authorization: 'Bearer edge-token' }
      expect(
        (await post('/api/v1/admin/webhooks/crm', { url: 'https://crm.example.com' }, auth)).status,
      ).toBe(201)
      expect((await post('/api/v1/admin/bots/lead-gen', leadGenBot, auth)).status).toBe(201)
      const start = await post('/api/v1/bots/lead-gen/conversations', {})
      expect(start.status).toBe(201)
      const id = start.json.conversationId
      for (const text of ['Just browsing', 'nicolas@joonbot.com']) {
        expect((await post(`/api/v1/conversations/${id}/replies`, { text })).status).toBe(200)
      }
      const last = await post(`/api/v1/conversations/${id}/replies`, { text: '0612345678' })
      expect(last.json.ended).toBe(true)
      expect(last.json.responses[0].elements[0].label).toBe(
        'Thanks! We will write to nicolas@joonbot.com.',
      )
    })
  })
})
