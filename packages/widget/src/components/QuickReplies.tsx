interface QuickRepliesProps {
  choices: { label: string }[]
  busy: boolean
  onChoose: (label: string) => boolean
}

/** A buttons input: each choice is sent as the visitor's reply, and shown as their bubble. */
export function QuickReplies({ choices, busy, onChoose }: QuickRepliesProps) {
  return (
    <fieldset class="choices">
      <legend class="sr">Choose an answer</legend>
      {choices.map((choice, index) => (
        <button
          key={index}
          type="button"
          class="choice"
          dir="auto"
          data-primary={index === 0 ? '' : undefined}
          aria-disabled={busy || undefined}
          onClick={() => onChoose(choice.label)}
        >
          {choice.label}
        </button>
      ))}
    </fieldset>
  )
}
