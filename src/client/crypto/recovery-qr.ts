import encodeQR from '@paulmillr/qr'
import { phraseToSecret, recoveryPhrase } from './recovery-phrase.js'

/**
 * The recovery phrase as a QR code (docs/ENCRYPTION.md, "Recovery QR
 * code"), for moving an account to a second device by scanning it.
 *
 * The code holds the phrase itself, exactly as recoveryPhrase() writes it
 * (24 lower-case words, single spaces), in byte mode: any QR reader shows
 * the words a person can also type, and importRecoveryPhrase() takes the
 * scanned text as it is. No URI scheme around it: it would buy nothing the
 * importer needs and would show as a meaningless link in a generic scanner.
 *
 * Error correction level M (15%): the code is shown on a screen or printed
 * on paper that may be creased; 24 words (95 to 215 bytes) fit in
 * version 6 to 11 (41 to 61 modules). QR encoding by @paulmillr/qr (no dependencies, the author of
 * @noble/curves and @scure/bip39 used here); the SVG is written here, so
 * it is black on white with the 4-module quiet zone ISO/IEC 18004 asks for,
 * whatever the page's background (the library's SVG is transparent, with
 * a 2-module border).
 *
 * The QR code is the account secret: whoever sees it can read everything the
 * account can. Show it only on request, and not in screenshots or logs.
 */
export const QR_QUIET_ZONE = 4
/** Pixels per module in the SVG's intrinsic size; it scales without loss. */
export const QR_MODULE_PIXELS = 8

/**
 * An SVG document (a string) of the QR code of `phrase`. The phrase is
 * checked and written canonically first (any case and whitespace in, the
 * recoveryPhrase() form in the code); a phrase that is not a valid recovery
 * phrase throws InvalidRecoveryPhraseError.
 */
export function recoveryQrSvg(phrase: string): string {
  const content = recoveryPhrase(phraseToSecret(phrase))
  const modules = encodeQR(content, 'raw', { ecc: 'medium', encoding: 'byte', border: 0 })
  const size = modules.length + 2 * QR_QUIET_ZONE
  // One path of horizontal runs of dark modules: compact, and no hairline gaps between neighbouring squares.
  const runs: string[] = []
  modules.forEach((row, y) => {
    for (let x = 0; x < row.length; x++) {
      if (!row[x]) continue
      let end = x
      while (end + 1 < row.length && row[end + 1]) end++
      runs.push(`M${x + QR_QUIET_ZONE} ${y + QR_QUIET_ZONE}h${end - x + 1}v1h-${end - x + 1}z`)
      x = end
    }
  })
  const pixels = size * QR_MODULE_PIXELS
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${size} ${size}" width="${pixels}" height="${pixels}" shape-rendering="crispEdges">` +
    `<title>Recovery QR code</title>` +
    `<rect width="${size}" height="${size}" fill="#fff"/>` +
    `<path fill="#000" d="${runs.join('')}"/>` +
    `</svg>`
  )
}

/** The same SVG as a `data:` URL, for an <img src>. */
export function recoveryQrDataUrl(phrase: string): string {
  return `data:image/svg+xml;charset=utf-8,${encodeURIComponent(recoveryQrSvg(phrase))}`
}
