import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export default function buildBundle(): void {
  const script = fileURLToPath(new URL('../scripts/build.mjs', import.meta.url))
  execFileSync(process.execPath, [script], { stdio: 'inherit' })
}
