import { joonVitestConfig } from '../../vitest.shared.ts'

// One end-to-end run drives three bots in Chromium; the sync webhook's 2 s delays add up.
export default joonVitestConfig({ testTimeout: 90_000 })
