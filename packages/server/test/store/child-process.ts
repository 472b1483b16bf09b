import { spawn } from 'node:child_process'
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import ts from 'typescript'

const storeDir = fileURLToPath(new URL('../../src/store/', import.meta.url))
const require = createRequire(import.meta.url)
const coreWebhook = new URL('../../../core/dist/webhook.js', import.meta.url)
const coreIndex = new URL('../../../core/dist/index.js', import.meta.url)

/**
 * Compiles the store folder's TypeScript sources into `dir` as plain ES modules a child `node`
 * can import (tests run against source, and Node 20 cannot strip types). Bare imports of
 * installed packages are pinned to their resolved files so `dir` can live anywhere.
 */
export async function compileStore(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true })
  const files = (await readdir(storeDir)).filter((file) => file.endsWith('.ts'))
  for (const file of files) {
    const source = await readFile(join(storeDir, file), 'utf8')
    const { outputText } = ts.transpileModule(source, {
      compilerOptions: {
        module: ts.ModuleKind.ESNext,
        target: ts.ScriptTarget.ES2022,
        verbatimModuleSyntax: true,
      },
    })
    const pinned = outputText
      .replace(/from '(better-sqlite3|pg)'/g, (_, name: string) => {
        return `from '${pathToFileURL(require.resolve(name)).href}'`
      })
      // Built JavaScript, whatever conditions this process resolves with (vitest: source).
      .replace(/from '@joon\/core\/webhook'/g, () => `from '${coreWebhook.href}'`)
      .replace(/from '@joon\/core'/g, () => `from '${coreIndex.href}'`)
      // Optional drivers are required from the store's own folder, where they are installed.
      .replace(
        /createRequire\(import\.meta\.url\)/g,
        () => `createRequire(${JSON.stringify(pathToFileURL(join(storeDir, 'index.ts')).href)})`,
      )
    await writeFile(join(dir, file.replace(/\.ts$/, '.js')), pinned)
  }
}

export interface ChildResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/** Runs `node script args…`; `onLine` sees each stdout line as it arrives. */
export function runNode(
  script: string,
  args: string[],
  onLine?: (line: string, kill: () => void) => void,
  env: Record<string, string> = {},
): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    })
    let stdout = ''
    let stderr = ''
    let partial = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk
      partial += chunk
      const lines = partial.split('\n')
      partial = lines.pop() ?? ''
      for (const line of lines) onLine?.(line, () => child.kill('SIGKILL'))
    })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk
    })
    child.on('error', reject)
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }))
  })
}

/**
 * Code for a child script: prints `ready`, then waits until the parent says go, so children
 * that took different times to start still run their work side by side.
 */
export const WAIT_FOR_GO = `
  import { existsSync as __exists } from 'node:fs'
  process.stdout.write('ready\\n')
  while (!__exists(process.env.JOON_GO_FILE)) await new Promise((r) => setTimeout(r, 1))
`

/** Runs one child per argument list and releases them together (see `WAIT_FOR_GO`). */
export async function runTogether(script: string, argLists: string[][]): Promise<ChildResult[]> {
  const goFile = join(tmpdir(), `joon-go-${process.pid}-${Math.random().toString(36).slice(2)}`)
  let waiting = argLists.length
  const results = argLists.map((args) =>
    runNode(
      script,
      args,
      (line) => {
        if (line === 'ready' && --waiting === 0) void writeFile(goFile, 'go')
      },
      { JOON_GO_FILE: goFile },
    ),
  )
  try {
    return await Promise.all(results)
  } finally {
    await rm(goFile, { force: true })
  }
}
