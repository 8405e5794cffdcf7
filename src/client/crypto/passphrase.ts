// TEMPORARY STUB (replaced by the crypto-prims branch at merge): the agreed signatures only.
export async function wrapSecretWithPassphrase(_secret: Uint8Array, _passphrase: string, _options: { userId: string }): Promise<unknown> {
  throw new Error('stub')
}
export async function unwrapSecretWithPassphrase(_wrap: unknown, _passphrase: string, _options: { userId: string }): Promise<Uint8Array> {
  throw new Error('stub')
}
