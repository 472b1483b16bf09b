import type { BlockType } from './bot-doc.js'

const PATHS: Record<BlockType, string> = {
  // A speech bubble.
  text: 'M4 5h16v10H9l-5 4z',
  // A question mark in a bubble.
  question: 'M4 5h16v10H9l-5 4zM10 8.5a2 2 0 1 1 3 1.7c-.6.4-1 .8-1 1.5M12 13.2v.1',
  // Two stacked buttons.
  buttons: 'M4 5h16v5H4zM4 13h16v5H4z',
  // An arrow leaving a box.
  webhook: 'M14 4h6v6M20 4l-9 9M18 14v5H5V6h5',
  // A fork.
  condition: 'M6 4v6a4 4 0 0 0 4 4h8M6 10v10M15 11l3 3-3 3',
  // A sparkle.
  ai: 'M12 3l1.8 5.2L19 10l-5.2 1.8L12 17l-1.8-5.2L5 10l5.2-1.8zM18.5 15.5l.8 2.2 2.2.8-2.2.8-.8 2.2-.8-2.2-2.2-.8 2.2-.8z',
}

export const TYPE_NAMES: Record<BlockType, string> = {
  text: 'Text',
  question: 'Question',
  buttons: 'Buttons',
  webhook: 'Webhook',
  condition: 'Condition',
  ai: 'AI',
}

export function typeName(type: unknown): string {
  return TYPE_NAMES[type as BlockType] ?? (typeof type === 'string' && type ? type : 'Block')
}

/** The block type's pictogram; decorative, the type is always written beside it. */
export function BlockIcon({ type }: { type: unknown }) {
  const path = PATHS[type as BlockType] ?? 'M5 5h14v14H5z'
  return (
    <svg class="block-icon" viewBox="0 0 24 24" width="16" height="16" aria-hidden="true">
      <path
        d={path}
        fill="none"
        stroke="currentColor"
        stroke-width="2"
        stroke-linejoin="round"
        stroke-linecap="round"
      />
    </svg>
  )
}
