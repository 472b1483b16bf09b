import { describe, expect, it } from 'vitest'
import { toMessages } from '../src/instructions.ts'

describe('toMessages', () => {
  it('shows the elements of a text instruction in `order`, after its delay once', () => {
    const responses = [
      {
        type: 'text',
        delay: 2000,
        elements: [
          { label: 'second', order: 2, placeholder: null },
          { label: 'first', order: 1, placeholder: null },
        ],
      },
      { type: 'text', elements: [{ label: 'third' }] },
    ]
    expect(toMessages(responses)).toEqual([
      { text: 'first', delay: 2000 },
      // The delay is the instruction's, before its first element, not one per element.
      { text: 'second', delay: 0 },
      { text: 'third', delay: 0 },
    ])
  })

  it('skips unknown instruction types and malformed elements, never throws', () => {
    const responses = [
      { type: 'image', url: 'https://example.com/cat.png' },
      null,
      'text',
      { type: 'text', elements: 'nope' },
      { type: 'text', delay: -5, elements: [{ label: 42 }, null, { label: 'kept', order: 'x' }] },
    ]
    expect(toMessages(responses)).toEqual([{ text: 'kept', delay: 0 }])
    expect(toMessages(null)).toEqual([])
    expect(toMessages({ type: 'text' })).toEqual([])
  })

  it('keeps array order for equal or missing orders, and carries a placeholder', () => {
    const responses = [
      {
        type: 'text',
        elements: [
          { label: 'a', order: 1 },
          { label: 'b' },
          { label: 'c', order: 1, placeholder: 'Your name' },
        ],
      },
    ]
    expect(toMessages(responses)).toEqual([
      { text: 'a', delay: 0 },
      { text: 'c', delay: 0, placeholder: 'Your name' },
      { text: 'b', delay: 0 },
    ])
  })

  it('caps absurd delays at 30 s', () => {
    expect(toMessages([{ type: 'text', delay: 1e9, elements: [{ label: 'x' }] }])).toEqual([
      { text: 'x', delay: 30_000 },
    ])
  })
})
