import { useLayoutEffect, useRef, useState } from 'preact/hooks'

/**
 * A destructive action in two steps, in the page rather than a `confirm()` dialog: the first
 * press asks, and focus moves to the question's own confirm button.
 */
export function ConfirmButton({
  label,
  question,
  confirmLabel,
  onConfirm,
  disabled,
}: {
  label: string
  question: string
  confirmLabel: string
  onConfirm: () => void | Promise<void>
  disabled?: boolean
}) {
  const [asking, setAsking] = useState(false)
  const confirmRef = useRef<HTMLButtonElement>(null)
  const askRef = useRef<HTMLButtonElement>(null)
  const wasAsking = useRef(false)
  useLayoutEffect(() => {
    if (asking) confirmRef.current?.focus()
    else if (wasAsking.current) askRef.current?.focus()
    wasAsking.current = asking
  }, [asking])

  if (!asking) {
    return (
      <button
        ref={askRef}
        type="button"
        class="danger-outline"
        disabled={disabled}
        onClick={() => setAsking(true)}
      >
        {label}
      </button>
    )
  }
  return (
    <fieldset class="confirm">
      <legend class="confirm-question">{question}</legend>
      <button
        ref={confirmRef}
        type="button"
        class="danger"
        onClick={async () => {
          // Focus goes back to the first button (if the thing still exists, e.g. refused).
          setAsking(false)
          await onConfirm()
        }}
      >
        {confirmLabel}
      </button>
      <button type="button" onClick={() => setAsking(false)}>
        Cancel
      </button>
    </fieldset>
  )
}
