// Reads every package's vitest JSON report and fails when a test failed, was skipped or
// was marked todo, or when no test ran at all. Prints the plain "N passed, N failed" line.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
let passed = 0
let failed = 0
let skipped = 0
const problems = []
for (const group of ['packages', 'apps']) {
  for (const name of readdirSync(join(root, group))) {
    const file = join(root, group, name, '.vitest-report.json')
    if (!existsSync(join(root, group, name, 'package.json'))) continue
    if (!existsSync(file)) {
      problems.push(`${group}/${name}: no test report (did its tests run?)`)
      continue
    }
    const report = JSON.parse(readFileSync(file, 'utf8'))
    passed += report.numPassedTests
    failed += report.numFailedTests
    const notRun = report.numPendingTests + report.numTodoTests
    skipped += notRun
    if (notRun > 0) {
      for (const suite of report.testResults) {
        for (const test of suite.assertionResults) {
          if (test.status !== 'passed' && test.status !== 'failed') {
            problems.push(`${group}/${name}: skipped: ${test.fullName}`)
          }
        }
      }
    }
  }
}
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`)
for (const problem of problems) console.error(problem)
if (failed > 0 || skipped > 0 || passed === 0 || problems.length > 0) process.exit(1)
