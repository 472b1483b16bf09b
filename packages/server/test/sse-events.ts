export interface ServerEvent {
  event: string
  data: unknown
}

/** Reads a text/event-stream answer event by event, as a browser's fetch reader would. */
export async function* eventsOf(response: Response): AsyncGenerator<ServerEvent> {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader()
  let buffer = ''
  for (;;) {
    const { value, done } = await reader.read()
    if (done) return
    buffer += value
    for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
      const block = buffer.slice(0, end)
      buffer = buffer.slice(end + 2)
      const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message'
      const data = [...block.matchAll(/^data: ?(.*)$/gm)].map((match) => match[1]).join('\n')
      yield { event, data: JSON.parse(data) }
    }
  }
}
