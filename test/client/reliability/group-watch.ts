import { expect } from 'vitest'
import type { Collection, RecordView } from '../../../src/client/index.js'

/**
 * Follows collections through `watch` on other devices and remembers, for
 * every listener call, how many of a group's records it showed: a group
 * must appear all at once, so each call shows none of them or all.
 */
export class GroupWatch {
  /** Per follower: the number of the group's records each listener call showed. */
  readonly seen = new Map<string, number[]>()
  private readonly stops: Array<() => void> = []

  constructor(private readonly group: Record<string, string[]>) {}

  follow(name: string, collectionId: string, collection: Collection) {
    const ids = new Set(this.group[collectionId])
    const counts: number[] = []
    this.seen.set(name, counts)
    this.stops.push(collection.watch((records: RecordView[]) => counts.push(records.filter((record) => ids.has(record.id)).length)))
  }

  /** Every follower's latest call shows the whole group. */
  complete(): boolean {
    return [...this.seen.entries()].every(([name, counts]) => counts.at(-1) === this.group[this.collectionOf(name)].length)
  }

  expectNeverPartial() {
    for (const [name, counts] of this.seen) {
      const whole = this.group[this.collectionOf(name)].length
      expect(counts.filter((count) => count !== 0 && count !== whole), `${name} saw part of the group (counts per call: ${counts.join(', ')})`).toEqual([])
    }
  }

  stop() {
    for (const stop of this.stops.splice(0)) stop()
  }

  private collectionOf(name: string) {
    return name.split(' ').at(-1)!
  }
}
