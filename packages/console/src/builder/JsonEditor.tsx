import type { Ref } from 'preact'
import { useImperativeHandle, useRef } from 'preact/hooks'

export interface JsonEditorHandle {
  /** Selects a range of the text and scrolls it into view. */
  select: (start: number, end?: number) => void
}

/** The bot as JSON text: the JSON tab. Every keystroke that parses edits the same bot. */
export function JsonEditor({
  text,
  invalid,
  handle,
  onInput,
}: {
  text: string
  invalid: boolean
  handle: Ref<JsonEditorHandle>
  onInput: (text: string) => void
}) {
  const editor = useRef<HTMLTextAreaElement>(null)
  useImperativeHandle(handle, () => ({
    select: (start, end = start) => {
      const area = editor.current
      if (!area) return
      area.focus()
      area.setSelectionRange(start, end)
      // A textarea does not scroll to a selection set in code.
      const line = area.value.slice(0, start).split('\n').length - 1
      const lineHeight = Number.parseFloat(getComputedStyle(area).lineHeight) || 20
      area.scrollTop = Math.max(0, line * lineHeight - area.clientHeight / 3)
    },
  }))
  return (
    <div class="field editor-field">
      <label for="bot-json">Bot JSON</label>
      <textarea
        id="bot-json"
        ref={editor}
        class="mono"
        spellcheck={false}
        autocomplete="off"
        autocapitalize="off"
        wrap="off"
        value={text}
        aria-describedby="bot-problems-summary bot-json-hint"
        aria-invalid={invalid ? true : undefined}
        onInput={(event) => onInput(event.currentTarget.value)}
      />
      <p id="bot-json-hint" class="hint">
        The same bot as the Flow tab: a change here is there at once. Checked as you type against
        the registered webhooks. Ctrl+S saves; Tab leaves the editor.
      </p>
    </div>
  )
}
