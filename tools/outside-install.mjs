// `node tools/outside-install.mjs`: installs Joon the way a user does, outside this checkout.
// Packs every package (built first), lints each tarball with publint and
// @arethetypeswrong/cli, installs the tarballs with plain `npm install` into an empty ESM
// project in the system's temp folder, then in that project: imports @joon/core from an ESM
// script, typechecks a strict TypeScript file against it, and runs `npx joon serve` with
// relative paths, holds a conversation over HTTP (its asynchronous webhook delivered to a
// receiver), and stops it with SIGTERM (exit 0). Exits non-zero on the first failure.
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const PACKAGES = ['core', 'widget', 'console', 'server']
const PUBLINT = 'publint@0.3.25'
const ATTW = '@arethetypeswrong/cli@0.18.5'
// Browser bundles and a style sheet, served as files: nothing to type.
const ASSET_ENTRIES = { widget: ['./widget.js'], console: ['./console.js', './console.css'] }

const step = (text) => console.log(`\n--- ${text}`)
const run = (command, args, cwd) =>
  execFileSync(command, args, { cwd, stdio: 'inherit', env: { ...process.env, CI: 'true' } })

const work = mkdtempSync(join(tmpdir(), 'joon-outside-'))
const packs = join(work, 'packs')
const project = join(work, 'project')
let server
let receiver
try {
  step('pack')
  for (const name of PACKAGES) {
    run('npx', ['-y', 'pnpm@10', 'pack', '--pack-destination', packs], join(root, 'packages', name))
  }
  const tarballs = readdirSync(packs).map((file) => join(packs, file))

  step('publint and arethetypeswrong on each tarball')
  for (const name of PACKAGES) {
    const tarball = tarballs.find((file) => file.includes(`joon-${name}-`))
    const assets = ASSET_ENTRIES[name] ?? []
    run('npx', ['-y', PUBLINT, tarball, '--strict'], work)
    const exclude = assets.length > 0 ? ['--exclude-entrypoints', ...assets] : []
    run('npx', ['-y', ATTW, tarball, '--profile', 'esm-only', ...exclude], work)
  }

  step(`npm install into ${project}`)
  mkdirSync(project)
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({ name: 'my-shop', private: true, type: 'module' }, null, 2),
  )
  // Node 22.13+ has node:sqlite built in; before, SQLite needs better-sqlite3 (a peer).
  const [major, minor] = process.versions.node.split('.').map(Number)
  const sqlite = major > 22 || (major === 22 && minor >= 13) ? [] : ['better-sqlite3@12.6.2']
  run('npm', ['install', '--no-audit', '--no-fund', ...tarballs, ...sqlite], project)

  step("import { step } from '@joon/core' in an ESM script")
  writeFileSync(
    join(project, 'turn.js'),
    `import { step, validateBot } from '@joon/core'
const bot = validateBot({ id: 'hi', start: 'hello', blocks: [{ id: 'hello', type: 'text', text: 'Hi!' }] })
if (!bot.ok) throw new Error('the bot should be valid')
const turn = step(bot.bot, null, { type: 'start' })
if (turn.responses.length !== 1 || !turn.ended) throw new Error(JSON.stringify(turn))
console.log(JSON.stringify(turn.responses))
`,
  )
  run('node', ['turn.js'], project)

  step('the same in a strict TypeScript project')
  writeFileSync(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        exactOptionalPropertyTypes: true,
        noUncheckedIndexedAccess: true,
        noEmit: true,
        skipLibCheck: false,
        types: [],
      },
      files: ['turn.ts'],
    }),
  )
  writeFileSync(
    join(project, 'turn.ts'),
    `import { type Bot, step, validateBot } from '@joon/core'
import type { NodeServerOptions } from '@joon/server/node'
const checked = validateBot({ id: 'hi', start: 'hello', blocks: [{ id: 'hello', type: 'text', text: 'Hi!' }] })
const bot: Bot | null = checked.ok ? checked.bot : null
const port: NodeServerOptions['port'] = 8787
export const first = bot ? step(bot, null, { type: 'start' }).responses.length + port : 0
`,
  )
  const tsc = createRequire(join(root, 'package.json')).resolve('typescript/bin/tsc')
  run('node', [tsc, '-p', 'tsconfig.json'], project)

  step('npx joon serve --bots bots --webhooks webhooks.json, with relative paths')
  const received = []
  receiver = createServer((request, response) => {
    let body = ''
    request.on('data', (chunk) => (body += chunk))
    request.on('end', () => {
      received.push(JSON.parse(body))
      response.writeHead(200).end()
    })
  })
  await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve))
  mkdirSync(join(project, 'bots'))
  writeFileSync(
    join(project, 'bots', 'lead.json'),
    JSON.stringify({
      id: 'lead',
      start: 'email',
      blocks: [
        {
          id: 'email',
          type: 'question',
          text: 'Your email?',
          answer: 'email',
          saveAnswerTo: 'email',
          next: 'send',
        },
        { id: 'send', type: 'webhook', webhook: 'crm', async: true, next: 'thanks' },
        { id: 'thanks', type: 'text', text: 'Thanks, {{email}}!' },
      ],
    }),
  )
  writeFileSync(
    join(project, 'webhooks.json'),
    JSON.stringify([{ name: 'crm', url: `http://127.0.0.1:${receiver.address().port}/leads` }]),
  )
  server = spawn(
    'npx',
    [
      'joon',
      'serve',
      '--bots',
      'bots',
      '--webhooks',
      'webhooks.json',
      '--port',
      '0',
      '--host',
      '127.0.0.1',
    ],
    {
      cwd: project,
      detached: true,
      env: { ...process.env, JOON_ALLOW_PRIVATE_URLS: '1' },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  )
  let printed = ''
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`joon serve did not start: ${printed}`)),
      30_000,
    )
    server.stdout.on('data', (chunk) => {
      printed += chunk
      process.stdout.write(chunk)
      const match = /listening on (http:\/\/\S+)/.exec(printed)
      if (match) {
        clearTimeout(timer)
        resolve(match[1])
      }
    })
    server.on('exit', (code) => reject(new Error(`joon serve exited with ${code}: ${printed}`)))
  })
  const post = async (path, body) => {
    const response = await fetch(`${url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
    if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`)
    return response.json()
  }
  const started = await post('/api/v1/bots/lead/conversations', {})
  const reply = await post(`/api/v1/conversations/${started.conversationId}/replies`, {
    text: 'ada@example.com',
  })
  if (!reply.ended || !JSON.stringify(reply.responses).includes('Thanks, ada@example.com!')) {
    throw new Error(`unexpected reply: ${JSON.stringify(reply)}`)
  }
  for (let waited = 0; received.length === 0; waited += 50) {
    if (waited > 10_000) throw new Error('the asynchronous webhook was not delivered')
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  if (received[0].email !== 'ada@example.com') {
    throw new Error(`unexpected delivery: ${JSON.stringify(received[0])}`)
  }
  console.log(`conversation ${started.conversationId}: ended, delivered to the receiver`)
  if (!existsSync(join(project, '.joon', 'joon.db'))) {
    throw new Error('the database is not at .joon/joon.db in the project')
  }

  step('SIGTERM to the process group, as a terminal or a service manager sends it')
  // 'close': npx has exited and the server too (it holds the same stdout until it ends).
  const exited = new Promise((resolve) =>
    server.once('close', (code, signal) => resolve({ code, signal })),
  )
  process.kill(-server.pid, 'SIGTERM')
  const { code, signal } = await exited
  server = undefined
  // npm exec ends the way its child was asked to (it re-raises the signal it got): the server's
  // own clean exit is the line it prints once everything is drained.
  if (!(code === 0 || signal === 'SIGTERM') || !printed.includes('Stopped: every request')) {
    throw new Error(`joon serve did not stop cleanly (${code ?? signal}): ${printed}`)
  }
  console.log('\nInstalled outside the checkout and ran: all good.')
} finally {
  try {
    if (server) process.kill(-server.pid, 'SIGKILL')
  } catch {}
  receiver?.close()
  rmSync(work, { recursive: true, force: true })
}
