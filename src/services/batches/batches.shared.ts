import type { ClientApplication } from '../../client.js'
import type { Batch, BatchAppend, BatchCommit, BatchOpen, BatchOperation, BatchResult } from './batches.schema.js'

export type { Batch, BatchAppend, BatchCommit, BatchOpen, BatchOperation, BatchResult }

export const batchPath = 'batches'
/** `append` and `commit` are custom methods: over REST, POST /batches with `X-Service-Method: append|commit`. */
export const batchMethods = ['get', 'create', 'remove', 'append', 'commit'] as const

export const batchClient = (client: ClientApplication) => {
  client.use(batchPath, client.get('connection').service(batchPath), { methods: [...batchMethods] })
}

declare module '../../client.js' {
  interface ClientServiceTypes {
    [batchPath]: {
      get(id: string): Promise<Batch>
      create(data: BatchOpen, params?: { query?: Record<string, string>; headers?: Record<string, string> }): Promise<Batch>
      remove(id: string): Promise<Batch>
      append(data: BatchAppend, params?: { query?: Record<string, string>; headers?: Record<string, string> }): Promise<Batch>
      commit(data: BatchCommit, params?: { query?: Record<string, string>; headers?: Record<string, string> }): Promise<Batch>
    }
  }
}
