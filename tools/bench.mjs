// `pnpm bench`: runs every package's benchmarks in turn and prints one table. Each benchmark
// prints JSON lines ({ name, ...numbers }); ratios against baselines measured in the same
// run are computed by the benchmarks themselves, since this machine is shared and noisy.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'

const root = new URL('..', import.meta.url).pathname
const suites = [
  {
    name: 'core: interpreter steps',
    cwd: 'packages/core',
    command: ['npx', 'vitest', 'bench', '--run'],
  },
  { name: 'server: HTTP turns', cwd: 'packages/server', command: ['node', 'bench/http.mjs'] },
  {
    name: 'server: async deliveries',
    cwd: 'packages/server',
    command: ['node', 'bench/deliveries.mjs'],
  },
  { name: 'server: PostgreSQL', cwd: 'packages/server', command: ['node', 'bench/postgres.mjs'] },
]

const rows = []
for (const suite of suites) {
  const script = suite.command[1]
  if (suite.command[0] === 'node' && !existsSync(`${root}${suite.cwd}/${script}`)) continue
  console.error(`\n== ${suite.name}`)
  const run = spawnSync(suite.command[0], suite.command.slice(1), {
    cwd: `${root}${suite.cwd}`,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 * 1024 * 1024,
  })
  process.stderr.write(run.stdout)
  for (const line of run.stdout.split('\n')) {
    if (!line.startsWith('{')) continue
    try {
      rows.push({ suite: suite.name, ...JSON.parse(line) })
    } catch {}
  }
  if (run.status !== 0) rows.push({ suite: suite.name, name: 'FAILED', exitCode: run.status })
}

console.log('\n| suite | benchmark | results |\n| --- | --- | --- |')
for (const { suite, name, ...numbers } of rows) {
  const results = Object.entries(numbers)
    .map(([key, value]) => `${key} ${value}`)
    .join(', ')
  console.log(`| ${suite} | ${name} | ${results} |`)
}
