/** A link set from the keyboard: a select of every block id, plus what "no link" means here. */
export function TargetSelect({
  id,
  label,
  value,
  ids,
  emptyLabel,
  hint,
  required = false,
  onChange,
}: {
  id: string
  label: string
  value: string
  ids: readonly string[]
  emptyLabel: string
  hint?: string
  /** A rule must go somewhere: "no link" then reads as a choice still to make. */
  required?: boolean
  onChange: (target: string | null) => void
}) {
  const unknown = value !== '' && !ids.includes(value)
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <select
        id={id}
        value={value}
        aria-invalid={unknown || (required && value === '') ? true : undefined}
        aria-describedby={hint ? `${id}-hint` : undefined}
        onChange={(event) => {
          const target = event.currentTarget.value
          onChange(target === '' ? null : target)
        }}
      >
        <option value="">{emptyLabel}</option>
        {unknown ? <option value={value}>{value} (no such block)</option> : null}
        {ids.map((blockId) => (
          <option key={blockId} value={blockId}>
            {blockId}
          </option>
        ))}
      </select>
      {hint ? (
        <p id={`${id}-hint`} class="hint">
          {hint}
        </p>
      ) : null}
    </div>
  )
}
