import type {
  Input as CoreInput,
  Instruction as CoreInstruction,
  Message as CoreMessage,
} from '@joon/core'
import { expect, it } from 'vitest'
import type { Input, Message, TextInstruction } from '../src/api.ts'

// Compile-time: the widget's own wire types and @joon/core's accept the same values.
// `pnpm typecheck` fails if either side drifts.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
const checks: [
  Same<Input, CoreInput>,
  Same<Message, CoreMessage>,
  Same<TextInstruction, CoreInstruction>,
] = [true, true, true]

it('shares the wire types of @joon/core', () => {
  expect(checks).toEqual([true, true, true])
})
