import type { IncomingHttpHeaders } from 'node:http'
import { startTestReceiver } from '../../../../tools/receiver.ts'

export interface ReceivedCall {
  headers: IncomingHttpHeaders
  body: string
}

/** The shared receiver (tools/receiver.ts) at `/hooks`, answering `status` (changeable). */
export async function startReceiver() {
  let status = 200
  let errorBody = '{"error":"the receiver is down for the test"}'
  const receiver = await startTestReceiver((_received, response) => {
    response.writeHead(status, { 'content-type': 'application/json' })
    response.end(status < 300 ? '{"received":true}' : errorBody)
  })
  return {
    url: `${receiver.url}/hooks`,
    calls: receiver.requests as ReceivedCall[],
    /** Answers `next` from now on; a failure with `body` when given. */
    answer(next: number, body?: string) {
      status = next
      if (body !== undefined) errorBody = body
    },
    close: receiver.close,
  }
}
