import { entropyToMnemonic, mnemonicToEntropy } from '@scure/bip39'
import { wordlist } from '@scure/bip39/wordlists/english.js'
import { ClientInputError } from '../errors.js'

/**
 * The recovery phrase (docs/ENCRYPTION.md, "Account keys (format v1)"):
 * the 32-byte account secret as 24 words of the BIP-39 English list
 * (256 bits of entropy + an 8-bit checksum, 11 bits a word). Only the
 * encoding of BIP-39 is used, not its seed derivation (PBKDF2 with a
 * "mnemonic" salt): the phrase *is* the secret, so importing it needs no
 * passphrase and gives back exactly the bytes it was made from.
 */
export const SECRET_BYTES = 32
export const PHRASE_WORDS = 24

/** What is wrong with a recovery phrase; the app can word its own message from it. */
export type RecoveryPhraseProblem =
  /** Not 24 words. */
  | 'wrong-length'
  /** A word that is not in the BIP-39 English list (a typo, another language's list). */
  | 'unknown-word'
  /** 24 known words whose checksum does not match: a word swapped, mistyped into another valid word, or out of order. */
  | 'bad-checksum'

/**
 * A phrase that cannot be an account's recovery phrase. Never a generic
 * crash: the message says what is wrong and where, so a person can fix it.
 * It names at most the one word that is not in the list, never the whole
 * phrase (messages end up in logs).
 */
export class InvalidRecoveryPhraseError extends Error {
  readonly problem: RecoveryPhraseProblem
  /** 1-based position of the unknown word, for 'unknown-word'. */
  readonly position: number | undefined

  constructor(problem: RecoveryPhraseProblem, message: string, position?: number) {
    super(`Invalid recovery phrase: ${message}`)
    this.name = 'InvalidRecoveryPhraseError'
    this.problem = problem
    this.position = position
  }
}

const WORDS = new Set(wordlist)

/** The 24-word phrase of a 32-byte account secret, words separated by single spaces. */
export function recoveryPhrase(secret: Uint8Array): string {
  assertSecret(secret)
  return entropyToMnemonic(secret, wordlist)
}

/**
 * The words of a phrase as a person may type or paste it: any whitespace
 * (line breaks, tabs, several spaces) between words, any case, Unicode
 * compatibility forms (NFKD, as BIP-39 specifies).
 */
export function normalizePhrase(phrase: string): string[] {
  return phrase.normalize('NFKD').toLowerCase().split(/\s+/u).filter((word) => word !== '')
}

/** The 32-byte account secret a recovery phrase encodes; InvalidRecoveryPhraseError when it encodes none. */
export function phraseToSecret(phrase: string): Uint8Array {
  if (typeof phrase !== 'string') throw new ClientInputError(`a recovery phrase is a string, got ${phrase === null ? 'null' : typeof phrase}`)
  const words = normalizePhrase(phrase)
  if (words.length !== PHRASE_WORDS) {
    throw new InvalidRecoveryPhraseError('wrong-length', `it has ${words.length} word${words.length === 1 ? '' : 's'}; a Roost recovery phrase has exactly ${PHRASE_WORDS}`)
  }
  const unknown = words.findIndex((word) => !WORDS.has(word))
  if (unknown >= 0) {
    const word = words[unknown]
    throw new InvalidRecoveryPhraseError('unknown-word', `word ${unknown + 1} ("${word}") is not in the BIP-39 English word list${suggestion(word)}`, unknown + 1)
  }
  try {
    return mnemonicToEntropy(words.join(' '), wordlist)
  } catch {
    // Length and words are checked above, so the library can only object to the checksum.
    throw new InvalidRecoveryPhraseError('bad-checksum', 'the words are all valid but their checksum does not match: a word is wrong or out of place')
  }
}

/** BIP-39 words are unique by their first four letters, so a typo after those still points at one word. */
function suggestion(word: string): string {
  if (word.length < 4) return ''
  const matches = wordlist.filter((candidate) => candidate.startsWith(word.slice(0, 4)))
  return matches.length === 1 ? `; did you mean "${matches[0]}"?` : ''
}

export function assertSecret(secret: unknown): asserts secret is Uint8Array {
  if (!(secret instanceof Uint8Array) || secret.length !== SECRET_BYTES) {
    throw new ClientInputError(`an account secret is ${SECRET_BYTES} bytes, got ${secret instanceof Uint8Array ? `${secret.length} bytes` : secret === null ? 'null' : typeof secret}`)
  }
}
