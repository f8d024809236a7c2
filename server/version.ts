import { readFileSync } from 'node:fs'
import { fromProjectRoot } from './paths.js'

/** The service's version, from package.json (read once at start). */
export const VERSION: string = (
  JSON.parse(readFileSync(fromProjectRoot('package.json'), 'utf8')) as { version: string }
).version
