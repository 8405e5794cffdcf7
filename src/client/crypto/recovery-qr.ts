// TEMPORARY STUB (replaced by the crypto-prims branch at merge): the agreed signatures only.
export function recoveryQrSvg(_phrase: string): string {
  throw new Error('stub')
}
