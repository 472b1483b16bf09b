import type { DeliveryStatus } from '../api.js'

/** The status in words (never colour alone). */
export function StatusBadge({ status }: { status: DeliveryStatus }) {
  return <span class={`badge badge-${status}`}>{status}</span>
}
