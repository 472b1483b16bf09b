import { useEffect, useRef, useState } from 'preact/hooks'
import { BlockIcon, TYPE_NAMES } from './BlockIcon.js'
import { BLOCK_TYPES, type BlockType } from './bot-doc.js'

const DESCRIPTIONS: Record<BlockType, string> = {
  text: 'Say something',
  question: 'Ask for a typed answer',
  buttons: 'Offer choices',
  webhook: 'Send answers to your API',
  condition: 'Branch on a variable',
  ai: 'Answer or collect with a model',
}

/** "Add block": a menu button (WAI-ARIA menu pattern) with one item per block type. */
export function AddBlockMenu({
  disabled,
  onAdd,
}: {
  disabled: boolean
  onAdd: (type: BlockType) => void
}) {
  const [open, setOpen] = useState(false)
  const button = useRef<HTMLButtonElement>(null)
  const menu = useRef<HTMLDivElement>(null)
  const items = () => [...(menu.current?.querySelectorAll<HTMLElement>('[role="menuitem"]') ?? [])]

  useEffect(() => {
    if (!open) return
    items()[0]?.focus()
    const close = (event: MouseEvent) => {
      const target = event.target as Node
      if (!menu.current?.contains(target) && !button.current?.contains(target)) setOpen(false)
    }
    document.addEventListener('mousedown', close)
    return () => document.removeEventListener('mousedown', close)
  }, [open])

  const choose = (type: BlockType) => {
    setOpen(false)
    onAdd(type)
  }

  const onMenuKey = (event: KeyboardEvent) => {
    const all = items()
    const at = all.indexOf(document.activeElement as HTMLElement)
    const move = (index: number) => {
      event.preventDefault()
      all[(index + all.length) % all.length]?.focus()
    }
    if (event.key === 'ArrowDown') move(at + 1)
    else if (event.key === 'ArrowUp') move(at - 1)
    else if (event.key === 'Home') move(0)
    else if (event.key === 'End') move(all.length - 1)
    else if (event.key === 'Escape' || event.key === 'Tab') {
      if (event.key === 'Escape') event.preventDefault()
      setOpen(false)
      button.current?.focus()
    }
  }

  return (
    <div class="menu-anchor">
      <button
        ref={button}
        type="button"
        class="primary"
        aria-haspopup="menu"
        aria-expanded={open}
        aria-controls="add-block-menu"
        disabled={disabled}
        onClick={() => setOpen(!open)}
        onKeyDown={(event) => {
          if (event.key === 'ArrowDown') {
            event.preventDefault()
            setOpen(true)
          }
        }}
      >
        Add block
      </button>
      {open ? (
        <div
          ref={menu}
          id="add-block-menu"
          class="menu"
          role="menu"
          aria-label="Block types"
          onKeyDown={onMenuKey}
        >
          {BLOCK_TYPES.map((type) => (
            <div
              key={type}
              role="menuitem"
              tabIndex={-1}
              class="menu-item"
              onClick={() => choose(type)}
              onKeyDown={(event) => {
                if (event.key === 'Enter' || event.key === ' ') {
                  event.preventDefault()
                  choose(type)
                }
              }}
            >
              <BlockIcon type={type} />
              <span class="menu-item-name">{TYPE_NAMES[type]}</span>
              <span class="menu-item-hint" aria-hidden="true">
                {DESCRIPTIONS[type]}
              </span>
            </div>
          ))}
        </div>
      ) : null}
    </div>
  )
}
