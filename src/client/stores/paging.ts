import type { LocalRecord } from '../types.js'

/** What `ClientStore.pageRecords` reads: a window of one collection's records, ordered by id. */
export interface PageOptions {
  /** Records to skip (of those that match), a whole number from 0. */
  offset: number
  /** Records to return at most, a whole number from 0 to 1000 (0: only the counts). */
  limit: number
  /** Only ids that start with this (case-sensitive). */
  idPrefix?: string
  /** Tombstones too (default false: live records only). */
  includeDeleted?: boolean
}

export interface RecordPage {
  records: LocalRecord[]
  /** How many records match the filter (tombstones counted only with `includeDeleted`). */
  matching: number
  /** How many records the collection has (live, plus tombstones with `includeDeleted`). */
  total: number
}

export const MAX_PAGE_LIMIT = 1000

/** The options every store accepts; a bad one throws a TypeError before anything is read. */
export function checkPageOptions(options: PageOptions): Required<PageOptions> {
  if (options === null || typeof options !== 'object') throw new TypeError('pageRecords takes { offset, limit, idPrefix?, includeDeleted? }')
  const { offset, limit, idPrefix = '', includeDeleted = false } = options
  if (!Number.isSafeInteger(offset) || offset < 0) throw new TypeError(`"offset" must be a whole number from 0, not ${JSON.stringify(offset)}`)
  if (!Number.isSafeInteger(limit) || limit < 0 || limit > MAX_PAGE_LIMIT) {
    throw new TypeError(`"limit" must be a whole number from 0 to ${MAX_PAGE_LIMIT}, not ${JSON.stringify(limit)}`)
  }
  if (typeof idPrefix !== 'string') throw new TypeError(`"idPrefix" must be a string, not ${JSON.stringify(idPrefix)}`)
  if (typeof includeDeleted !== 'boolean') throw new TypeError(`"includeDeleted" must be a boolean, not ${JSON.stringify(includeDeleted)}`)
  return { offset, limit, idPrefix, includeDeleted }
}

/**
 * The smallest string above every string that starts with `prefix`, in JS
 * code-unit order (what IndexedDB keys use), or null when there is none
 * (the prefix is empty or all U+FFFF): the exclusive upper bound of a
 * prefix range.
 */
export function prefixEnd(prefix: string): string | null {
  let end = prefix
  while (end.length > 0 && end.charCodeAt(end.length - 1) === 0xffff) end = end.slice(0, -1)
  if (end === '') return null
  return end.slice(0, -1) + String.fromCharCode(end.charCodeAt(end.length - 1) + 1)
}

/** The reference paging over records already in id order (the memory store, and the checks' expectation). */
export function pageOf(sorted: LocalRecord[], options: Required<PageOptions>): RecordPage {
  const counted = options.includeDeleted ? sorted : sorted.filter((record) => !record.deleted)
  const matching = options.idPrefix === '' ? counted : counted.filter((record) => record.id.startsWith(options.idPrefix))
  return { records: matching.slice(options.offset, options.offset + options.limit), matching: matching.length, total: counted.length }
}
