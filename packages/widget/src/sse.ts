/**
 * An incremental Server-Sent Events parser (the WHATWG event-stream format): feed it text in
 * chunks of any size; it calls `onEvent` for each complete event that has data (`event` is
 * empty for an unnamed one). Lines end in `\n`, `\r\n` or `\r`, also when a chunk ends
 * between `\r` and `\n`; `data` lines join with `\n`; comments (`:`), `id` and `retry` are
 * ignored; an event the stream stops in the middle of is never dispatched. Bytes to text is
 * the caller's: a streaming `TextDecoder` keeps a character split across chunks whole (and
 * drops a leading BOM).
 */
export function createSseParser(
  onEvent: (event: string, data: string) => void,
): (chunk: string) => void {
  let rest = ''
  let event = ''
  let data = ''
  let cr = false
  return (chunk) => {
    // A `\r` ends its line at once; a `\n` right after it, even in the next chunk, adds none.
    const lf = cr && chunk[0] === '\n'
    if (chunk) cr = chunk.endsWith('\r')
    const lines = (rest + (lf ? chunk.slice(1) : chunk)).split(/\r\n?|\n/)
    rest = lines.pop()!
    for (const line of lines) {
      if (line) {
        // `s`: a U+2028 in a JSON string is no line end.
        const [, field, value] = /([^:]*):? ?(.*)/s.exec(line) as unknown as string[]
        if (field === 'event') event = value!
        if (field === 'data') data += `${value}\n`
      } else {
        if (data) onEvent(event, data.slice(0, -1))
        event = data = ''
      }
    }
  }
}
