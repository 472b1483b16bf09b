import { describe, expect, it } from 'vitest'
import { MissingDependencyError, requireOptional } from '../../src/store/optional-dependency.js'

describe('requireOptional', () => {
  it('loads an installed package', () => {
    expect(typeof requireOptional<{ Pool: unknown }>('pg', 'PostgreSQL').Pool).toBe('function')
  })

  it('names the package to install when it is missing', () => {
    const load = () => requireOptional('joon-no-such-driver', 'PostgreSQL (JOON_DATABASE_URL)')
    expect(load).toThrow(MissingDependencyError)
    expect(load).toThrow(
      'PostgreSQL (JOON_DATABASE_URL) needs the joon-no-such-driver package, which is not installed: run `npm install joon-no-such-driver` in your project',
    )
  })
})
