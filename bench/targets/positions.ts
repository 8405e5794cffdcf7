/** Positions per collection, counted by the raw targets: this process is the only writer of a raw database. */
export class Positions {
  private readonly seqs = new Map<string, number>()

  take(collectionId: string, count: number): number {
    const first = (this.seqs.get(collectionId) ?? 0) + 1
    this.seqs.set(collectionId, first + count - 1)
    return first
  }
}
