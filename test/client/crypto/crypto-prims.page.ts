/**
 * The page side of crypto-prims.browser.test.ts: wraps and unwraps
 * collection keys (HPKE Auth mode, with the wrapping member's key pair) and the passphrase copy of the account secret
 * (Argon2id in WebAssembly) with Chromium's own WebCrypto, and shows the
 * recovery QR code as an <img>, reading it back from a canvas with jsQR.
 */
import jsqr from 'jsqr'
import { KeyUnwrapError, unwrapCollectionKey, wrapCollectionKey, type KeyContext, type WrappedKey } from '../../../src/client/crypto/key-wrap.js'
import { WrongPassphraseError, unwrapSecretWithPassphrase, wrapSecretWithPassphrase, type Argon2Params, type PassphraseWrap } from '../../../src/client/crypto/passphrase.js'
import { QR_MODULE_PIXELS, recoveryQrDataUrl } from '../../../src/client/crypto/recovery-qr.js'

/** jsqr is CommonJS: under NodeNext its default import is the module, whose `default` is the decoder (see ../shared/notes/STACK.md). */
const jsQR = jsqr.default

const unhex = (text: string) => new Uint8Array(text.match(/../g)!.map((byte) => parseInt(byte, 16)))
const hex = (bytes: Uint8Array) => Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('')
type Recipient = { userId: string; keyVersion: number; publicKeyHex: string }
type Me = Recipient & { privateKeyHex: string }
/** The wrapping member, as their own client has them: user id and key pair. */
type Sender = { userId: string; privateKeyHex: string; publicKeyHex: string }
/** The wrapper as the recipient knows them: the user named as wrappedBy and the public key known for them. */
type From = { userId: string; publicKeyHex: string }
const identity = (me: Me) => ({ userId: me.userId, keyVersion: me.keyVersion, privateKey: unhex(me.privateKeyHex), publicKey: unhex(me.publicKeyHex) })
const wrappedBy = (from: From) => ({ userId: from.userId, publicKey: unhex(from.publicKeyHex) })

async function failure(promise: Promise<unknown>): Promise<{ name: string; reason?: string; isKeyUnwrapError: boolean; isWrongPassphrase: boolean }> {
  try {
    await promise
    return { name: 'none', isKeyUnwrapError: false, isWrongPassphrase: false }
  } catch (error) {
    const reason = (error as { reason?: string }).reason
    return { name: (error as Error).name, ...(reason === undefined ? {} : { reason }), isKeyUnwrapError: error instanceof KeyUnwrapError, isWrongPassphrase: error instanceof WrongPassphraseError }
  }
}

Object.assign(window, {
  async wrapKey(rawKeyHex: string, recipient: Recipient, ctx: KeyContext, sender: Sender): Promise<WrappedKey> {
    const to = { userId: recipient.userId, keyVersion: recipient.keyVersion, publicKey: unhex(recipient.publicKeyHex) }
    return wrapCollectionKey(unhex(rawKeyHex), to, ctx, { userId: sender.userId, privateKey: unhex(sender.privateKeyHex), publicKey: unhex(sender.publicKeyHex) })
  },
  async unwrapKey(wrapped: WrappedKey, me: Me, ctx: KeyContext, from: From): Promise<string> {
    return hex(await unwrapCollectionKey(wrapped, identity(me), ctx, wrappedBy(from)))
  },
  unwrapKeyFailure(wrapped: unknown, me: Me, ctx: KeyContext, from: From) {
    return failure(unwrapCollectionKey(wrapped, identity(me), ctx, wrappedBy(from)))
  },
  wrapSecret(secretHex: string, passphrase: string, userId: string, params: Argon2Params): Promise<PassphraseWrap> {
    return wrapSecretWithPassphrase(unhex(secretHex), passphrase, { userId, params })
  },
  async unwrapSecret(wrap: PassphraseWrap, passphrase: string, userId: string): Promise<string> {
    return hex(await unwrapSecretWithPassphrase(wrap, passphrase, { userId }))
  },
  unwrapSecretFailure(wrap: unknown, passphrase: string, userId: string) {
    return failure(unwrapSecretWithPassphrase(wrap, passphrase, { userId }))
  },
  /**
   * Shows the QR code of `phrase` as <img id="qr"> (at `pixelsPerModule`,
   * or its intrinsic size), then draws that image on a canvas and decodes
   * the canvas's pixels with jsQR: what a scanner pointed at the screen gets.
   */
  async showAndScanQr(phrase: string, pixelsPerModule?: number): Promise<{ text: string | null; width: number; height: number }> {
    document.getElementById('qr')?.remove()
    const img = document.createElement('img')
    img.id = 'qr'
    img.alt = 'Recovery QR code'
    img.style.display = 'block'
    img.src = recoveryQrDataUrl(phrase)
    document.body.append(img)
    await img.decode()
    if (pixelsPerModule !== undefined) img.width = img.height = (img.naturalWidth / QR_MODULE_PIXELS) * pixelsPerModule
    const canvas = document.createElement('canvas')
    canvas.width = img.width
    canvas.height = img.height
    const context = canvas.getContext('2d', { willReadFrequently: true })!
    context.imageSmoothingEnabled = false
    context.drawImage(img, 0, 0, canvas.width, canvas.height)
    const { data, width, height } = context.getImageData(0, 0, canvas.width, canvas.height)
    return { text: jsQR(data, width, height)?.data ?? null, width, height }
  }
})
