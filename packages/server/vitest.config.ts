import { joonVitestConfig } from '../../vitest.shared.ts'

// One test file at a time: the process-level delivery and fairness tests measure timings on
// a 2-core machine, and the whole suite takes no longer serially than in parallel.
export default joonVitestConfig({ fileParallelism: false })
