import type { ExportCollection, ExportHeader, ExportLine } from './export.schema.js'

export type { ExportCollection, ExportHeader, ExportLine }

/**
 * Export is a download over REST only (GET, `Authorization: Bearer <jwt>`),
 * streamed as NDJSON: no Feathers client service, since its answer is not
 * one JSON value. docs/PROTOCOL.md ("Export") has the format.
 */
export const exportAllPath = 'export'
export const collectionExportPath = 'collections/:collectionId/export'
export const exportMethods = ['find'] as const

/** The URL path of one collection's export. */
export const collectionExportUrlPath = (collectionId: string) => `/collections/${encodeURIComponent(collectionId)}/export`

export const EXPORT_CONTENT_TYPE = 'application/x-ndjson; charset=utf-8'
