/** What an ended conversation offers instead of an answer box. */
export function StartOver({ onStartOver }: { onStartOver: () => void }) {
  return (
    <button type="button" class="primary" data-primary="" onClick={onStartOver}>
      Start over
    </button>
  )
}
