/**
 * Writes `.env.example` and the configuration table in README.md from the one config schema
 * in server/config.ts. Run `npm run docs:config` after adding a variable.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import type { TSchema } from '@sinclair/typebox'
import { EnvSchema } from '../server/config.js'

const entries = Object.entries(EnvSchema.properties as Record<string, TSchema>)
const defaultOf = (s: TSchema) => (s.default === undefined ? '' : String(s.default))

const example = [
  '# chat-control-plane configuration. Every variable is optional; the values shown are the defaults.',
  '# Copy to .env (or export them) and uncomment what you change.',
  '',
  ...entries.flatMap(([name, schema]) => [`# ${schema.description ?? ''}`, `# ${name}=${defaultOf(schema)}`, '']),
].join('\n')
writeFileSync('.env.example', example)

const table = [
  '| variable | default | meaning |',
  '| --- | --- | --- |',
  ...entries.map(
    ([name, schema]) =>
      `| \`${name}\` | ${defaultOf(schema) ? `\`${defaultOf(schema)}\`` : '—'} | ${(schema.description ?? '').replace(/\|/g, '\\|')} |`,
  ),
].join('\n')
const readme = readFileSync('README.md', 'utf8')
const begin = '<!-- config-table:begin -->'
const end = '<!-- config-table:end -->'
const start = readme.indexOf(begin)
const stop = readme.indexOf(end)
if (start < 0 || stop < 0) throw new Error(`README.md needs ${begin} and ${end} markers`)
writeFileSync('README.md', `${readme.slice(0, start + begin.length)}\n${table}\n${readme.slice(stop)}`)
console.log(`documented ${entries.length} variables in .env.example and README.md`)
