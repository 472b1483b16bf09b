import { mergeConfig } from 'vitest/config'
import { joonVitestConfig } from '../../vitest.shared.ts'

export default mergeConfig(joonVitestConfig({ testTimeout: 60_000 }), {
  // The browser tests load dist/widget.js: build it from the current source first.
  test: {
    globalSetup: ['./test/global-setup.ts'],
    // Generous for a loaded CI machine; a passing poll returns as soon as it holds.
    expect: { poll: { timeout: 5_000 } },
  },
})
