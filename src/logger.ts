import { pino, type DestinationStream, type Logger } from 'pino'

export type { Logger }

/**
 * JSON logs, one object a line, on stdout (or `destination`, for a test that
 * reads them). Request bodies and record data are never logged. Libraries
 * that would print their own text (knex, the pg driver) are routed here too
 * (storage/knex/connection.ts), so every line an operator sees parses as JSON.
 */
export const createLogger = (level: string, destination?: DestinationStream): Logger =>
  destination === undefined ? pino({ level, base: { service: 'roost' } }) : pino({ level, base: { service: 'roost' } }, destination)
