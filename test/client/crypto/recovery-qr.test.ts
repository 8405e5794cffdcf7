/**
 * The recovery QR code (src/client/crypto/recovery-qr.ts, docs/ENCRYPTION.md
 * "Recovery QR code") in Node: the SVG is read back module by module (its
 * one path of runs), rasterized and decoded with jsQR, an independent
 * decoder; the content is the canonical phrase, importRecoveryPhrase takes
 * it as scanned, and the documented worked example (version, error correction level,
 * size, quiet zone) holds. The real rendering in Chromium is in
 * crypto-prims.browser.test.ts.
 */
import { readFile } from 'node:fs/promises'
import jsqr from 'jsqr'
import { describe, expect, it } from 'vitest'
import { InvalidRecoveryPhraseError, createAccountKeys, importRecoveryPhrase, recoveryPhrase } from '../../../src/client/crypto/account-keys.js'
import { QR_MODULE_PIXELS, QR_QUIET_ZONE, recoveryQrDataUrl, recoveryQrSvg } from '../../../src/client/crypto/recovery-qr.js'
import { fencedBlocks } from '../../docs/fenced-blocks.js'

/** jsqr is CommonJS: under NodeNext its default import is the module, whose `default` is the decoder (see ../shared/notes/STACK.md). */
const jsQR = jsqr.default

interface ParsedQr {
  /** Modules a side, quiet zone included. */
  size: number
  /** dark[y][x], quiet zone included. */
  dark: boolean[][]
}

/** The SVG as the code writes it: a white square, then one black path of `M x y h w v1 h-w z` runs. Fails on anything else. */
function parseSvg(svg: string): ParsedQr {
  const head = /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" viewBox="0 0 (\d+) \1" width="(\d+)" height="\2" shape-rendering="crispEdges"><title>[^<]*<\/title><rect width="\1" height="\1" fill="#fff"\/><path fill="#000" d="([^"]*)"\/><\/svg>$/.exec(svg)
  expect(head, 'the SVG has the expected structure').not.toBeNull()
  const size = Number(head![1])
  expect(Number(head![2])).toBe(size * QR_MODULE_PIXELS)
  const dark = Array.from({ length: size }, () => new Array<boolean>(size).fill(false))
  const path = head![3]
  const run = /M(\d+) (\d+)h(\d+)v1h-\3z/g
  let consumed = 0
  for (let match = run.exec(path); match; match = run.exec(path)) {
    expect(match.index).toBe(consumed)
    consumed = run.lastIndex
    const [x, y, width] = [Number(match[1]), Number(match[2]), Number(match[3])]
    for (let dx = 0; dx < width; dx++) {
      expect(dark[y][x + dx], 'runs do not overlap').toBe(false)
      dark[y][x + dx] = true
    }
  }
  expect(consumed).toBe(path.length)
  return { size, dark }
}

/** RGBA pixels, `scale` per module, black on white: what a camera would see of a perfect print. */
function rasterize({ size, dark }: ParsedQr, scale: number): { pixels: Uint8ClampedArray; width: number } {
  const width = size * scale
  const pixels = new Uint8ClampedArray(width * width * 4).fill(255)
  for (let y = 0; y < width; y++) {
    for (let x = 0; x < width; x++) {
      if (!dark[Math.floor(y / scale)][Math.floor(x / scale)]) continue
      pixels.fill(0, (y * width + x) * 4, (y * width + x) * 4 + 3)
    }
  }
  return { pixels, width }
}

/**
 * The error correction level from the format information next to the
 * top-left finder pattern (ISO/IEC 18004 §7.9: 15 bits, most significant at
 * row 8 column 0, XOR 101010000010010; the top two bits are the level).
 */
function errorCorrection({ dark }: ParsedQr): string {
  const cells = [[8, 0], [8, 1], [8, 2], [8, 3], [8, 4], [8, 5], [8, 7], [8, 8], [7, 8], [5, 8], [4, 8], [3, 8], [2, 8], [1, 8], [0, 8]]
  const bits = cells.map(([row, column]) => (dark[row + QR_QUIET_ZONE][column + QR_QUIET_ZONE] ? '1' : '0')).join('')
  return ['M', 'L', 'H', 'Q'][(parseInt(bits, 2) ^ 0b101010000010010) >> 13]
}

function decode(svg: string, scale = 4): { text: string; version: number } {
  const { pixels, width } = rasterize(parseSvg(svg), scale)
  const found = jsQR(pixels, width, width, { inversionAttempts: 'dontInvert' })
  expect(found, 'jsQR finds a QR code').not.toBeNull()
  return { text: found!.data, version: found!.version }
}

describe('recoveryQrSvg', () => {
  it('holds exactly the phrase recoveryPhrase() writes, for fresh accounts; importRecoveryPhrase takes it as scanned', async () => {
    for (let round = 0; round < 5; round++) {
      const keys = await createAccountKeys()
      const phrase = recoveryPhrase(keys.secret)
      const scanned = decode(recoveryQrSvg(phrase)).text
      expect(scanned).toBe(phrase)
      expect(Buffer.from((await importRecoveryPhrase(scanned)).secret).toString('hex')).toBe(Buffer.from(keys.secret).toString('hex'))
    }
  })

  it('writes the canonical phrase whatever case and whitespace it was given', async () => {
    const phrase = recoveryPhrase((await createAccountKeys()).secret)
    const sloppy = `  ${phrase.toUpperCase().split(' ').join(' \n\t ')}  `
    expect(decode(recoveryQrSvg(sloppy)).text).toBe(phrase)
  })

  it('keeps a quiet zone of 4 white modules on every side', async () => {
    const { size, dark } = parseSvg(recoveryQrSvg(recoveryPhrase((await createAccountKeys()).secret)))
    expect(QR_QUIET_ZONE).toBe(4)
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const inZone = x < QR_QUIET_ZONE || y < QR_QUIET_ZONE || x >= size - QR_QUIET_ZONE || y >= size - QR_QUIET_ZONE
        if (inZone) expect(dark[y][x]).toBe(false)
      }
    }
    // The finder pattern's corner module sits right inside the quiet zone.
    expect(dark[QR_QUIET_ZONE][QR_QUIET_ZONE]).toBe(true)
  })

  it('decodes at 2 pixels a module as well', async () => {
    const phrase = recoveryPhrase((await createAccountKeys()).secret)
    expect(decode(recoveryQrSvg(phrase), 2).text).toBe(phrase)
  })

  it('refuses what is not a recovery phrase, with InvalidRecoveryPhraseError', async () => {
    const words = recoveryPhrase((await createAccountKeys()).secret).split(' ')
    expect(() => recoveryQrSvg(words.slice(1).join(' '))).toThrow(InvalidRecoveryPhraseError)
    expect(() => recoveryQrSvg([...words.slice(0, 23), 'notaword'].join(' '))).toThrow(InvalidRecoveryPhraseError)
    expect(() => recoveryQrSvg([words[1], words[0], ...words.slice(2)].join(' '))).toThrow(InvalidRecoveryPhraseError)
  })

  it('recoveryQrDataUrl is the same SVG as a data: URL', async () => {
    const phrase = recoveryPhrase((await createAccountKeys()).secret)
    const url = recoveryQrDataUrl(phrase)
    const prefix = 'data:image/svg+xml;charset=utf-8,'
    expect(url.startsWith(prefix)).toBe(true)
    expect(decodeURIComponent(url.slice(prefix.length))).toBe(recoveryQrSvg(phrase))
  })
})

describe('the worked example in docs/ENCRYPTION.md', () => {
  it('holds: content, its size, version, modules and quiet zone', async () => {
    const doc = await readFile(new URL('../../../docs/ENCRYPTION.md', import.meta.url), 'utf8')
    const blocks = fencedBlocks(doc, 'docs/ENCRYPTION.md').filter((b) => b.marker === '<!-- worked-example: recovery-qr-v1 -->')
    expect(blocks).toHaveLength(1)
    const ex = JSON.parse(blocks[0].code) as { phrase: string; content: string; contentBytes: number; errorCorrection: string; version: number; modules: number; quietZone: number }
    const accountExample = fencedBlocks(doc, 'docs/ENCRYPTION.md').find((b) => b.marker === '<!-- worked-example: account-keys-v1 -->')!
    expect(ex.phrase).toBe((JSON.parse(accountExample.code) as { phrase: string }).phrase)
    expect(ex.content).toBe(ex.phrase)
    expect(Buffer.byteLength(ex.content)).toBe(ex.contentBytes)
    const svg = recoveryQrSvg(ex.phrase)
    const parsed = parseSvg(svg)
    const { size } = parsed
    expect(errorCorrection(parsed)).toBe(ex.errorCorrection)
    expect({ modules: size - 2 * QR_QUIET_ZONE, quietZone: QR_QUIET_ZONE }).toEqual({ modules: ex.modules, quietZone: ex.quietZone })
    expect(ex.modules).toBe(17 + 4 * ex.version)
    expect(decode(svg)).toEqual({ text: ex.content, version: ex.version })
  })
})
