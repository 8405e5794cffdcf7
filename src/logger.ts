import { pino, type Logger } from 'pino'

export type { Logger }

/** JSON logs on stdout. Request bodies and record data are never logged. */
export const createLogger = (level: string): Logger => pino({ level, base: { service: 'roost' } })
