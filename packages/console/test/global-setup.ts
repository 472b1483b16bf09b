import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/** The browser tests load dist/: build it from the current source first. */
export default function buildConsole(): void {
  const script = fileURLToPath(new URL('../scripts/build.mjs', import.meta.url))
  execFileSync(process.execPath, [script], { stdio: 'inherit' })
}
