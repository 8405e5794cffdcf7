import { randomBytes } from 'node:crypto'

/**
 * A fresh feed epoch (src/cursor.ts): 48 random bits, 8 characters. A
 * collection gets one when it is created, so cursors of a deleted namesake
 * are recognised as stale, and again after a restore from a backup
 * (MaintenancePort.renewAfterRestore), so are cursors handed out before it.
 */
export const newFeedEpoch = (): string => randomBytes(6).toString('base64url')
