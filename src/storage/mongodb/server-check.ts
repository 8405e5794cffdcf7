import type { Document } from 'mongodb'

/** The oldest MongoDB Roost runs on. */
export const MIN_SERVER_VERSION: readonly [number, number] = [6, 0]

/** Makes a fresh mongod started with --replSet rs0 a one-member replica set reachable as localhost:27017. */
const INITIATE = `rs.initiate({ _id: 'rs0', members: [{ _id: 0, host: 'localhost:27017' }] })`

/** How to get a server Roost can use, for the messages below. */
export const SINGLE_NODE_REPLICA_SET =
  'A single-node replica set is enough. With Docker:\n' +
  '  docker run -d --name roost-mongo -p 27017:27017 mongo:7 --replSet rs0 && sleep 3 && \\\n' +
  `    docker exec roost-mongo mongosh --quiet --eval "${INITIATE}"\n` +
  `or with a local mongod: mongod --replSet rs0 --dbpath <folder>, then once: mongosh --quiet --eval "${INITIATE}"\n` +
  'Then start Roost with DATABASE_URL=mongodb://localhost:27017/roost?replicaSet=rs0'

/**
 * Stops Roost at start on a server it cannot keep its guarantees on, with a
 * message that says what to do. `hello` and `buildInfo` are the server's
 * replies to those two commands.
 *
 * - Transactions (every write of Roost runs in one) exist only on a replica
 *   set (hello.setName) or behind mongos (hello.msg === 'isdbgrid'); a
 *   standalone mongod refuses them.
 * - Below MIN_SERVER_VERSION: the snapshot reads of the feed (queries.ts) and
 *   the tested behaviour of transactions are not there.
 */
export function checkServer(hello: Document, buildInfo: Document): void {
  const replicated = typeof hello.setName === 'string' || hello.msg === 'isdbgrid'
  if (!replicated) {
    throw new Error(
      'MongoDB is running as a standalone server, but Roost needs transactions, which MongoDB runs only on a replica set or a sharded cluster.\n' +
        SINGLE_NODE_REPLICA_SET
    )
  }
  const version = versionOf(buildInfo)
  const [major, minor] = MIN_SERVER_VERSION
  if (version === undefined || version[0] < major || (version[0] === major && version[1] < minor)) {
    throw new Error(
      `MongoDB ${String(buildInfo.version ?? '(unknown version)')} is too old: Roost needs MongoDB ${major}.${minor} or newer.\n` + SINGLE_NODE_REPLICA_SET
    )
  }
}

/** [major, minor] from buildInfo.versionArray, or from its version text ("7.0.12"). */
function versionOf(buildInfo: Document): [number, number] | undefined {
  const parts: unknown[] = Array.isArray(buildInfo.versionArray)
    ? buildInfo.versionArray
    : typeof buildInfo.version === 'string'
      ? buildInfo.version.split('.').map(Number)
      : []
  const [major, minor] = parts
  return typeof major === 'number' && typeof minor === 'number' && Number.isInteger(major) && Number.isInteger(minor) ? [major, minor] : undefined
}
