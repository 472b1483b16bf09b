// `pnpm bench`: runs every package's benchmarks in turn and prints one table. Each benchmark
// prints JSON lines ({ name, ...numbers }); ratios against baselines measured in the same
// run are computed by the benchmarks themselves, since this machine is shared and noisy.
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const BENCH_JSON = join(tmpdir(), `joon-core-bench-${process.pid}.json`)
const suites = [
  {
    name: 'core: interpreter steps',
    cwd: 'packages/core',
    command: ['npx', 'vitest', 'bench', '--run', '--outputJson', BENCH_JSON],
    json: BENCH_JSON,
  },
  { name: 'server: HTTP turns', cwd: 'packages/server', command: ['node', 'bench/http.mjs'] },
  {
    name: 'server: async deliveries',
    cwd: 'packages/server',
    command: ['node', 'bench/deliveries.mjs'],
  },
  {
    name: 'server: turn cost by conversation size',
    cwd: 'packages/server',
    command: ['node', 'bench/growth.mjs'],
  },
  {
    name: 'server: streamed turns',
    cwd: 'packages/server',
    command: ['node', 'bench/streaming.mjs'],
  },
  { name: 'server: PostgreSQL', cwd: 'packages/server', command: ['node', 'bench/postgres.mjs'] },
  {
    name: 'server: results',
    cwd: 'packages/server',
    command: ['node', '--expose-gc', 'bench/results.mjs'],
  },
  {
    name: 'console: flow builder',
    cwd: 'packages/console',
    command: ['node', 'bench/builder.mjs'],
  },
]

const rows = []

/** vitest bench's JSON report as table rows: steps (calls) per second. */
function vitestRows(file) {
  const report = JSON.parse(readFileSync(file, 'utf8'))
  return report.files.flatMap((f) =>
    f.groups.flatMap((group) =>
      group.benchmarks.map((b) => ({
        name: b.name,
        perSecond: Math.round(b.hz),
        rme: `±${b.rme.toFixed(1)}%`,
      })),
    ),
  )
}
// `node tools/bench.mjs core` runs only the suites whose name contains "core".
const only = process.argv[2]
for (const suite of suites.filter((s) => !only || s.name.includes(only))) {
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
  if (suite.json && existsSync(suite.json)) {
    for (const row of vitestRows(suite.json)) rows.push({ suite: suite.name, ...row })
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
