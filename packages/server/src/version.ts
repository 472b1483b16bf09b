/** Sent as `user-agent: joon/<version>` on every webhook call. */
export const VERSION = '0.1.0'
