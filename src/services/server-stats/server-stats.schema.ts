import { Type, type Static } from '@feathersjs/typebox'

/** The operator view: how the server is doing, in counts. Never any record data. */
export const serverStatsSchema = Type.Object(
  {
    status: Type.Literal('ok'),
    /** package.json version. */
    version: Type.String(),
    /** When this process started serving (ISO). */
    startedAt: Type.String(),
    uptimeSeconds: Type.Number(),
    database: Type.Object({ backend: Type.Union([Type.Literal('sqlite'), Type.Literal('postgresql'), Type.Literal('mongodb')]) }),
    counts: Type.Object({
      users: Type.Integer(),
      collections: Type.Integer(),
      /** Live records, every collection. */
      records: Type.Integer(),
      tombstones: Type.Integer(),
      /** Size of the stored data of live records (bytes of its JSON, UTF-8). */
      bytes: Type.Integer(),
      /** Open, unexpired batches. */
      openBatches: Type.Integer(),
      /** Live leases. */
      locks: Type.Integer()
    }),
    /** socket.io connections to this instance, and those signed in. */
    realtime: Type.Object({ connections: Type.Integer(), authenticated: Type.Integer() })
  },
  { $id: 'ServerStats', additionalProperties: false }
)
export type ServerStats = Static<typeof serverStatsSchema>
