import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url))

export interface JoonProcess {
  child: ChildProcess
  url: string
  output: () => string
  /** Resolves with the exit code (or the signal's name). */
  exited: Promise<number | string>
  /** SIGKILL unless it already exited. */
  kill: () => Promise<number | string>
}

/**
 * Starts the real `joon serve` and waits until it prints its URL. `shell`, e.g.
 * `ulimit -n 256`, runs first in a `sh` that then execs Node (same pid).
 */
export async function startJoon(
  args: string[],
  env: Record<string, string> = {},
  options: { shell?: string } = {},
): Promise<JoonProcess> {
  const command = [process.execPath, CLI, 'serve', '--port', '0', '--host', '127.0.0.1', ...args]
  const [file, ...rest] = options.shell
    ? ['sh', '-c', `${options.shell} && exec "$0" "$@"`, ...command]
    : command
  const child = spawn(file as string, rest, {
    env: { ...process.env, JOON_RATE_LIMIT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk
  })
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk
  })
  let code: number | string | undefined
  const exited = new Promise<number | string>((resolve) =>
    child.on('exit', (exitCode, signal) => {
      code = exitCode ?? signal ?? 'unknown'
      resolve(code)
    }),
  )
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`joon did not start in 20 s:\n${output}`)),
      20_000,
    )
    child.stdout?.on('data', () => {
      const match = /listening on (http:\/\/\S+)/.exec(output)
      if (match?.[1]) {
        clearTimeout(timer)
        resolve(match[1])
      }
    })
    exited.then((exitCode) => {
      clearTimeout(timer)
      reject(new Error(`joon exited (${exitCode}) before listening:\n${output}`))
    })
  })
  const kill = () => {
    if (code === undefined) child.kill('SIGKILL')
    return exited
  }
  return { child, url, output: () => output, exited, kill }
}

/** Runs the CLI to completion (for start-up errors). */
export function runJoon(args: string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number | null; output: string }>((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env } })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk
    })
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk
    })
    child.on('exit', (code) => resolve({ code, output }))
  })
}
