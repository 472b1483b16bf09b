/** Three dots while the bot "types" (an instruction's delay). Screen readers hear the message. */
export function TypingIndicator() {
  return (
    <div class="typing" aria-hidden="true">
      <i />
      <i />
      <i />
    </div>
  )
}
