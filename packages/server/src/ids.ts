const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
const ID_BYTES = 16
/** Random bytes drawn 256 ids at a time: one `getRandomValues` call per id cost ~2 µs on Node 20. */
const pool = new Uint8Array(ID_BYTES * 256)
let offset = pool.length
/** A byte of the pool; `i` is always in range. */
const byte = (i: number) => pool[i] as number

/** 16 random bytes (128 bits) as base64url: unguessable ids for conversations and deliveries. */
export function randomId(prefix: string): string {
  if (offset === pool.length) {
    crypto.getRandomValues(pool)
    offset = 0
  }
  let id = prefix
  // 15 bytes make 20 characters; the 16th byte adds two more (8 bits as 6 + 2, unpadded).
  const end = offset + ID_BYTES - 1
  for (; offset < end; offset += 3) {
    const triple = (byte(offset) << 16) | (byte(offset + 1) << 8) | byte(offset + 2)
    id +=
      ALPHABET.charAt(triple >>> 18) +
      ALPHABET.charAt((triple >>> 12) & 63) +
      ALPHABET.charAt((triple >>> 6) & 63) +
      ALPHABET.charAt(triple & 63)
  }
  const last = byte(offset++)
  return id + ALPHABET.charAt(last >>> 2) + ALPHABET.charAt((last & 3) << 4)
}

/** Base64url's characters in ASCII order, so encoded numbers sort like the numbers. */
const SORTABLE = '-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz'

/**
 * `randomId` after the time in ms (8 characters that sort in time order, good for 8,900 years).
 * For delivery ids (the receivers' `webhook-id`): new ones land at the end of the store's
 * index rather than on a random page, which a write pays for at every commit.
 */
export function timeOrderedId(prefix: string, now = Date.now()): string {
  let time = ''
  for (let rest = Math.max(0, Math.floor(now)), i = 0; i < 8; i++, rest = Math.floor(rest / 64)) {
    time = SORTABLE.charAt(rest % 64) + time
  }
  return randomId(prefix + time)
}
