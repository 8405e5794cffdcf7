// TEMPORARY STUB (replaced by the crypto-prims branch at merge): the agreed signatures only.
export interface WrappedKey { v: 1; enc: string; c: string }
export async function wrapCollectionKey(_raw: Uint8Array, _recipient: { userId: string; keyVersion: number; publicKey: Uint8Array }, _ctx: { collectionId: string; epoch: number }): Promise<WrappedKey> {
  throw new Error('stub')
}
export async function unwrapCollectionKey(_wrapped: unknown, _me: { userId: string; keyVersion: number; privateKey: Uint8Array; publicKey: Uint8Array }, _ctx: { collectionId: string; epoch: number }): Promise<Uint8Array> {
  throw new Error('stub')
}
