import type {
  Input as CoreInput,
  Instruction as CoreInstruction,
  Message as CoreMessage,
} from '@joon/core'
import { expectTypeOf, it } from 'vitest'
import type { Input, Message, TextInstruction } from '../src/api.ts'

// The widget keeps its own wire types (no runtime import of @joon/core in the 12 KB bundle);
// they must accept exactly the values @joon/core's do. Checked by `pnpm typecheck`, which
// type-checks this file: a drift on either side is a compile error here.
it('shares the wire types of @joon/core', () => {
  expectTypeOf<Input>().toEqualTypeOf<CoreInput>()
  expectTypeOf<Message>().toEqualTypeOf<CoreMessage>()
  expectTypeOf<TextInstruction>().toEqualTypeOf<CoreInstruction>()
})
