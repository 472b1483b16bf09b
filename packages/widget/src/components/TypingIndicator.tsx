/**
 * Three dots while the bot "types" (a reply in flight, an instruction's delay). Screen readers
 * hear "Typing" once, from the panel's status line, then the message.
 */
export function TypingIndicator() {
  return (
    <div class="typing" aria-hidden>
      <i />
      <i />
      <i />
    </div>
  )
}
