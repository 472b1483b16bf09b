import { mergeConfig } from 'vitest/config'
import { joonVitestConfig } from '../../vitest.shared.ts'

export default mergeConfig(joonVitestConfig({ testTimeout: 60_000 }), {
  test: { globalSetup: ['./test/global-setup.ts'] },
})
