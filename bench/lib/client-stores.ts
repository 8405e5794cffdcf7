import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { memoryStore, type ClientStore } from 'roost/client'
import { sqliteStore } from 'roost/client/sqlite'

/** A store of the client library to measure, opened fresh for each run. */
export interface StoreKind {
  name: 'memory' | 'sqlite'
  open(): { store: ClientStore; cleanup(): void }
}

const memory: StoreKind = {
  name: 'memory',
  open: () => ({ store: memoryStore(), cleanup: () => undefined })
}

const sqlite: StoreKind = {
  name: 'sqlite',
  open() {
    // Under the system's temporary folder, as the servers' databases are: the harness checks that nothing is left there.
    const dir = mkdtempSync(path.join(tmpdir(), 'roost-bench-client-'))
    return { store: sqliteStore(path.join(dir, 'client.sqlite')), cleanup: () => rmSync(dir, { recursive: true, force: true }) }
  }
}

/** The stores the client workloads run on. */
export const clientStores = (): StoreKind[] => [memory, sqlite]

/** Samples this process's memory every few milliseconds: its peak RSS and how far the JS heap grew above where it started. */
export class MemorySampler {
  private readonly startHeap = process.memoryUsage().heapUsed
  private peakRss = process.memoryUsage.rss()
  private peakHeap = this.startHeap
  private readonly timer = setInterval(() => this.sample(), 5)

  private sample() {
    const usage = process.memoryUsage()
    this.peakRss = Math.max(this.peakRss, usage.rss)
    this.peakHeap = Math.max(this.peakHeap, usage.heapUsed)
  }

  /** Stops sampling: peak RSS and heap growth, in MiB. */
  stop(): { peakRssMiB: number; heapGrowthMiB: number } {
    this.sample()
    clearInterval(this.timer)
    return { peakRssMiB: this.peakRss / 2 ** 20, heapGrowthMiB: (this.peakHeap - this.startHeap) / 2 ** 20 }
  }
}
