import { joonVitestConfig } from '../../vitest.shared.ts'

export default joonVitestConfig()
