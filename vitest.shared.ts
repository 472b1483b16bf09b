import { defineConfig } from 'vitest/config'

// Workspace packages resolve to their TypeScript source (the `source` export condition),
// so tests never run against a stale build of a sibling package.
const conditions = ['source', 'module', 'node', 'development|production']

export function joonVitestConfig(
  overrides: { testTimeout?: number; include?: string[]; fileParallelism?: boolean } = {},
) {
  return defineConfig({
    resolve: { conditions },
    ssr: { resolve: { conditions, externalConditions: ['source'] } },
    test: {
      include: overrides.include ?? ['test/**/*.test.ts'],
      testTimeout: overrides.testTimeout ?? 20_000,
      hookTimeout: 60_000,
      allowOnly: !process.env.CI,
      fileParallelism: overrides.fileParallelism ?? true,
      reporters: ['default', ['json', { outputFile: '.vitest-report.json' }]],
      benchmark: { include: ['bench/**/*.bench.ts'] },
    },
  })
}
