import { MongoBackend, type MongoBackendOptions } from './mongo-backend.js'

export { MongoBackend, type MongoBackendOptions } from './mongo-backend.js'

/** The MongoDB backend for a `mongodb://` or `mongodb+srv://` URL; its migrate() checks the server. */
export const createMongoBackend = (url: string, options: MongoBackendOptions = {}): MongoBackend => new MongoBackend(url, options)
