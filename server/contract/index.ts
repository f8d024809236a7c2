/**
 * The API contract: every REST body the dashboard uses and every live message, declared once
 * as TypeBox schemas with their Static types. Routes validate and document with the schemas;
 * the dashboard imports from here and nowhere else in server/ (eslint enforces it).
 */
export * from './alerts.js'
export * from './audit.js'
export * from './auth.js'
export * from './cache.js'
export * from './chat.js'
export * from './common.js'
export * from './database.js'
export * from './fleet.js'
export * from './health.js'
export * from './jobs.js'
export * from './live.js'
export * from './metrics.js'
export * from './projects.js'
export * from './signals.js'
export type * from './wire.js'
export * from './upstreams.js'
export * from './usage.js'
