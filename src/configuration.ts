import { Type, type Static } from '@feathersjs/typebox'
import { Ajv } from '@feathersjs/schema'

/**
 * The configuration, checked once at start so that a wrong setting fails fast
 * with its name instead of misbehaving later. Values come from config/*.json
 * and the environment variables in config/custom-environment-variables.json.
 */
export const configurationSchema = Type.Object(
  {
    host: Type.String({ minLength: 1 }),
    port: Type.Integer({ minimum: 0, maximum: 65535 }),
    public: Type.String(),
    dataDir: Type.String({ minLength: 1 }),
    /** Empty: SQLite under dataDir. `postgres://…`: PostgreSQL. `mongodb://…`: MongoDB (a replica set). `sqlite:<file>`: SQLite there. */
    databaseUrl: Type.String(),
    /**
     * Empty: every read goes to databaseUrl. `postgres://…`: a streaming
     * replica (hot standby) of that PostgreSQL primary, serving change-feed
     * pulls and record reads (src/storage/knex/read-replica.ts).
     */
    /** Connections per database pool: PostgreSQL's primary and replica each, MongoDB's maxPoolSize per server; SQLite has one. */
    databasePoolSize: Type.Integer({ minimum: 1, maximum: 1000 }),
    databaseReadUrl: Type.String({ pattern: '^(|postgres(ql)?://\\S+)$' }),
    readReplica: Type.Object({
      /** How long a read waits for a replica behind the request's horizon before the primary answers it. */
      maxWaitMilliseconds: Type.Integer({ minimum: 0, maximum: 60000 })
    }),
    /**
     * The storage speed-ups (src/storage/knex/shortcuts/, src/storage/rules/shortcuts.ts),
     * each checked against the plain path by the conformance suite. Off: the
     * reference path only, for diagnosing a suspected speed-up bug.
     */
    storageShortcuts: Type.Boolean(),
    origins: Type.Array(Type.String()),
    logLevel: Type.Union(
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((level) => Type.Literal(level))
    ),
    /** Whether anyone may sign up with POST /users. */
    signup: Type.Boolean(),
    /**
     * E-mail addresses of the users who may read the operator view
     * (`server-stats`); compared lower-cased. ROOST_OPERATORS gives them
     * comma-separated (normaliseConfiguration).
     */
    operators: Type.Array(Type.String({ pattern: '^[^@\\s,]+@[^@\\s,]+$', description: 'an e-mail address' })),
    paginate: Type.Object({
      default: Type.Integer({ minimum: 1 }),
      max: Type.Integer({ minimum: 1 })
    }),
    limits: Type.Object({
      /** Largest `data` of one record, in bytes of its JSON. */
      recordBytes: Type.Integer({ minimum: 1 }),
      /** Largest request body (REST) or message (socket.io), in bytes. */
      requestBytes: Type.Integer({ minimum: 1024 }),
      /** Most changes one pull of the change feed returns. */
      changesPerPage: Type.Integer({ minimum: 1, maximum: 1000 })
    }),
    batches: Type.Object({
      /** Time-to-live of a batch when the client asks for none. */
      ttlSeconds: Type.Integer({ minimum: 1 }),
      maxTtlSeconds: Type.Integer({ minimum: 1 }),
      /** Per batch: operations staged, and bytes of their data. */
      maxOperations: Type.Integer({ minimum: 1 }),
      maxBytes: Type.Integer({ minimum: 1 }),
      /** Per user: open batches, and bytes staged across them. */
      maxOpenPerUser: Type.Integer({ minimum: 1 }),
      maxStagedBytesPerUser: Type.Integer({ minimum: 1 }),
      /** How long committed, aborted and expired batches stay readable (and re-committable). */
      retentionSeconds: Type.Integer({ minimum: 0 })
    }),
    idempotency: Type.Object({
      /** How long an idempotency key and its answer are kept. */
      ttlSeconds: Type.Integer({ minimum: 1 }),
      /**
       * Lease of a pending key: how long a call that stores its answer after
       * running (not records) holds its key in the database without renewing
       * it. The holder renews it every third of this; a process that dies
       * stops renewing, and after this a waiting retry takes the key over.
       */
      leaseSeconds: Type.Integer({ minimum: 1, maximum: 3600 }),
      /** How long a retry waits for a duplicate still running elsewhere before answering 503. */
      waitSeconds: Type.Integer({ minimum: 0, maximum: 300 })
    }),
    sharing: Type.Object({
      /** How long an invitation can be accepted when the inviter names no time. */
      invitationTtlSeconds: Type.Integer({ minimum: 1 }),
      /** Longest an inviter may ask for. */
      maxInvitationTtlSeconds: Type.Integer({ minimum: 1 })
    }),
    locks: Type.Object({
      /** Lease length when the client asks for none. */
      ttlSeconds: Type.Integer({ minimum: 1 }),
      /** Longest lease (acquire and renew); longer asks are cut to it. */
      maxTtlSeconds: Type.Integer({ minimum: 1 }),
      /** Longest an acquire may wait for a held lock to free up. */
      maxWaitSeconds: Type.Integer({ minimum: 0 }),
      /** How often leases past their expiry are ended and announced. */
      expiryCheckMilliseconds: Type.Integer({ minimum: 10 })
    }),
    /** Per-user quotas (429 when reached), checked inside the write's transaction. */
    quotas: Type.Object({
      /** Collections one user may own (role owner), checked when they create one. */
      collectionsPerUser: Type.Integer({ minimum: 1 }),
      /** Pending, unexpired invitations to one collection. */
      pendingInvitationsPerCollection: Type.Integer({ minimum: 1 })
    }),
    /** Behind one reverse proxy: the client's IP is the last X-Forwarded-For entry (it appended), not the socket's. */
    trustProxy: Type.Boolean(),
    /** Sign-in and sign-up limits per e-mail address and per client IP (src/auth/rate-limits.ts). */
    rateLimits: Type.Object({
      signIn: Type.Object({
        /** Failed sign-ins in a row for one address from one IP; a success starts again. */
        failuresPerAddressAndIp: Type.Integer({ minimum: 1 }),
        /** Failed sign-ins for one address, from any IP. */
        failuresPerAddress: Type.Integer({ minimum: 1 }),
        /** Failed sign-ins from one IP, for any address. */
        failuresPerIp: Type.Integer({ minimum: 1 }),
        windowSeconds: Type.Integer({ minimum: 1 })
      }),
      signUp: Type.Object({
        /** Sign-up attempts from one IP. */
        perIp: Type.Integer({ minimum: 1 }),
        /** Sign-up attempts for one address. */
        perAddress: Type.Integer({ minimum: 1 }),
        windowSeconds: Type.Integer({ minimum: 1 })
      }),
      /** Writes (every call but find and get) from clients, one point per call (src/auth/write-limits.ts). */
      writes: Type.Object({
        /** Writes of one signed-in user, from any IP. */
        perUser: Type.Integer({ minimum: 1 }),
        /** Writes from one IP, of any user or none. */
        perIp: Type.Integer({ minimum: 1 }),
        windowSeconds: Type.Integer({ minimum: 1 })
      }),
      /**
       * Where the counters live. Empty: the Redis of `sync.url` if that is a
       * Redis (every instance counts together), else this process's memory.
       */
      redisUrl: Type.String({ pattern: '^(|rediss?://\\S+)$' })
    }),
    realtime: Type.Object({
      /** Most bytes held for one socket.io connection that is not reading; past it, the connection is closed. */
      maxBufferedBytes: Type.Integer({ minimum: 65536 }),
      /** Most authenticated socket.io connections of one user at once. */
      maxSocketsPerUser: Type.Integer({ minimum: 1 }),
      /** Heartbeats: a ping this often, and a connection closed if its pong is this late. */
      pingIntervalMilliseconds: Type.Integer({ minimum: 100 }),
      pingTimeoutMilliseconds: Type.Integer({ minimum: 100 })
    }),
    metrics: Type.Object({
      /**
       * Empty: GET /metrics is not served (404). Set: served to
       * `Authorization: Bearer <token>` only. No spaces (it travels in a header).
       */
      token: Type.String({ pattern: '^\\S*$' })
    }),
    sync: Type.Object({
      /**
       * Empty: one instance, events stay in this process. `redis://…` or
       * `nats://…` (`tls://…`: NATS over TLS): service events cross to every
       * instance through that bus (feathers-sync), so sockets on any instance
       * hear writes made through any other.
       */
      url: Type.String({ pattern: '^(|(rediss?|nats|tls)://\\S+)$' }),
      /** The Redis channel or NATS subject the instances share; instances of one deployment use the same. */
      key: Type.String({ minLength: 1 })
    }),
    /** On SIGINT/SIGTERM: how long in-flight calls and sockets get before the process exits anyway. */
    shutdownTimeoutSeconds: Type.Number({ minimum: 0 }),
    /** How often expired batches and idempotency keys are cleaned up. */
    sweepIntervalSeconds: Type.Integer({ minimum: 1 }),
    authentication: Type.Object(
      {
        /** Empty: generated on first start and kept in dataDir/auth-secret (mode 0600). */
        secret: Type.String(),
        /** Cost of new password hashes (argon2id): memory in KiB (at least 8) and passes. */
        local: Type.Object(
          { memoryCost: Type.Integer({ minimum: 8, maximum: 4194304 }), timeCost: Type.Integer({ minimum: 1, maximum: 100 }) },
          { additionalProperties: true }
        )
      },
      { additionalProperties: true }
    )
  },
  { additionalProperties: true }
)

export type RoostConfiguration = Static<typeof configurationSchema>

/**
 * What the environment can only give as text, made what the schema expects:
 * `operators` from ROOST_OPERATORS ("a@x.org, b@y.org") as a list, and every
 * operator address trimmed and lower-cased as users' e-mails are. Returns the
 * settings it changed; anything else is left for checkConfiguration to judge.
 */
export function normaliseConfiguration(config: { operators?: unknown }): Partial<RoostConfiguration> {
  const operators = config.operators
  const list = typeof operators === 'string' ? operators.split(',') : operators
  if (!Array.isArray(list) || !list.every((item) => typeof item === 'string')) return {}
  return { operators: list.map((email) => email.trim().toLowerCase()).filter((email) => email !== '') }
}

const validate = new Ajv({ allErrors: true, strict: false }).compile(configurationSchema)

/** Throws an Error naming every wrong setting. */
export function checkConfiguration(config: unknown): asserts config is RoostConfiguration {
  if (validate(config)) {
    const { invitationTtlSeconds, maxInvitationTtlSeconds } = (config as RoostConfiguration).sharing
    if (invitationTtlSeconds > maxInvitationTtlSeconds) {
      throw new Error(`Invalid configuration: sharing.invitationTtlSeconds (${invitationTtlSeconds}) is over sharing.maxInvitationTtlSeconds (${maxInvitationTtlSeconds})`)
    }
    const { url, key } = (config as RoostConfiguration).sync
    // On NATS the key is a subject: a wildcard would hear other subjects, a space would fail every publish.
    if (/^(nats|tls):/.test(url) && !/^[^\s*>.]+(\.[^\s*>.]+)*$/.test(key)) {
      throw new Error(`Invalid configuration: sync.key (${JSON.stringify(key)}) is not a NATS subject: dot-separated names, no spaces, "*" or ">"`)
    }
    return
  }
  const problems = (validate.errors ?? []).map((error) => {
    const path = error.instancePath.slice(1).replaceAll('/', '.')
    if (error.keyword === 'required') {
      const missing = [path, String(error.params.missingProperty)].filter(Boolean).join('.')
      return `${missing} is missing or not a valid value`
    }
    return `${path || '(root)'} ${error.message ?? 'is invalid'}`
  })
  throw new Error(`Invalid configuration: ${problems.join('; ')}`)
}
