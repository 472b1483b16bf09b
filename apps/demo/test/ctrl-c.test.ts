import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { connect, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, expect, it } from 'vitest'

/**
 * Ctrl-C as a newcomer presses it: the README's command in a terminal (a pseudo-terminal from
 * util-linux `script`), then the Ctrl-C byte typed into it, so the terminal itself decides who
 * gets what, npx, sh, pnpm and the demo alike.
 */

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const COMMAND = 'npx -y pnpm@10 demo'
const CTRL_C = '\x03'

let terminal: ChildProcess | undefined
let dataDir: string | undefined

afterAll(() => {
  // Closing the pseudo-terminal hangs up every process still attached to it.
  if (terminal && terminal.exitCode === null && terminal.signalCode === null) {
    terminal.kill('SIGKILL')
  }
  if (dataDir) rmSync(dataDir, { recursive: true, force: true })
})

it('`npx -y pnpm@10 demo`, then Ctrl-C in its terminal: a request in flight is answered, exit code 0', async () => {
  const [port, apiPort] = [await freePort(), await freePort()]
  dataDir = mkdtempSync(join(tmpdir(), 'joon-demo-ctrl-c-'))
  const started = spawn('script', ['-qfec', COMMAND, '/dev/null'], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: {
      ...process.env,
      DEMO_PORT: String(port),
      DEMO_API_PORT: String(apiPort),
      DEMO_DATA_DIR: dataDir,
      JOON_ADMIN_TOKEN: '',
    },
  })
  terminal = started
  let output = ''
  started.stdout?.on('data', (chunk) => {
    output += chunk
  })
  started.stderr?.on('data', (chunk) => {
    output += chunk
  })
  const exited = new Promise<number | null>((resolve) => started.once('exit', resolve))
  await waitFor(
    () => output.includes('Press Ctrl-C to stop.') || started.exitCode !== null,
    () => `the demo did not start:\n${output}`,
    // The command builds first: a few seconds from turbo's cache, minutes without it (CI's
    // second pass, on another Node, rebuilds every package).
    240_000,
  )
  expect(output).toContain('Press Ctrl-C to stop.')

  // A visitor's request still arriving when Ctrl-C is pressed: stopping takes that long, so a
  // second SIGINT (pnpm forwards the one it got) would have found the demo still stopping.
  const visitor = connect(port, '127.0.0.1')
  let answer = ''
  visitor.on('data', (chunk) => {
    answer += chunk
  })
  const answered = new Promise<void>((resolve) => visitor.once('close', () => resolve()))
  visitor.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n')
  await new Promise((resolve) => setTimeout(resolve, 200))
  const pressed = output.length
  started.stdin?.write(CTRL_C)
  await new Promise((resolve) => setTimeout(resolve, 300))
  visitor.end('Connection: close\r\n\r\n')
  await answered
  expect(answer).toMatch(/^HTTP\/1\.1 200 /)

  expect(await withTimeout(exited, 20_000, () => `still running after Ctrl-C:\n${output}`)).toBe(0)
  const afterCtrlC = output.slice(pressed)
  expect(afterCtrlC).toContain('stopping (finishing requests and deliveries in flight)')
  expect(afterCtrlC).toContain('Stopped.')
  expect(afterCtrlC).not.toMatch(/again|error|fail/i)
  await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow()
}, 300_000)

async function waitFor(check: () => boolean, message: () => string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(message())
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number, message: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message())), timeoutMs)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}
