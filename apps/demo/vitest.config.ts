import { joonVitestConfig } from '../../vitest.shared.ts'

// One end-to-end run drives three bots in Chromium; the sync webhook's 2 s delays add up.
// One file at a time: each starts the demo through the root script, whose turbo build writes dist/.
export default joonVitestConfig({ testTimeout: 90_000, fileParallelism: false })
