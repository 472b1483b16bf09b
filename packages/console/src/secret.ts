/** A Standard Webhooks secret: `whsec_` and the base64 of 24 random bytes. */
export function generateSecret(random: (bytes: Uint8Array) => Uint8Array = defaultRandom): string {
  const bytes = random(new Uint8Array(24))
  let binary = ''
  for (const byte of bytes) binary += String.fromCharCode(byte)
  return `whsec_${btoa(binary)}`
}

const defaultRandom = (bytes: Uint8Array) => crypto.getRandomValues(bytes)
