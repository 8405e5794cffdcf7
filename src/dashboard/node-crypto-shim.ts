/**
 * @hpke/common falls back to `import("crypto")` (Node's) when a runtime has no
 * global WebCrypto. Every browser this page supports has one, so the fallback
 * never runs; this module stands in for Node's so the build stays browser-only.
 */
export const webcrypto = globalThis.crypto
