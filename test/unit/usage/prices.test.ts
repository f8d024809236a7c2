import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { PriceTable } from '../../../server/usage/prices.js'

describe('PriceTable', () => {
  it('prices prompt and completion tokens per million, and has no price for an unlisted model', () => {
    const table = PriceTable.fromYaml('gpt-4o-mini: { input: 0.15, output: 0.6 }\n')
    expect(table.cost('gpt-4o-mini', 1_000_000, 500_000)).toBeCloseTo(0.45, 12)
    expect(table.cost('unlisted', 10, 10)).toBeNull()
  })

  it('refuses a price that is missing, negative or not a number, naming the model', () => {
    expect(() => PriceTable.fromYaml('m: { input: 1 }')).toThrow(/m needs input and output prices/)
    expect(() => PriceTable.fromYaml('m: { input: -1, output: 1 }')).toThrow(/m needs/)
    expect(() => PriceTable.fromYaml('m: { input: "1", output: 1 }')).toThrow(/m needs/)
    expect(() => PriceTable.fromYaml('- a\n- b')).toThrow(/expected a mapping/)
  })

  it('reads the shipped example, where the simulated model costs 0', () => {
    const table = PriceTable.fromFile(join(import.meta.dirname, '../../../config/model-prices.example.yaml'))
    expect(table.cost('simulated-no-llm', 1000, 1000)).toBe(0)
    expect(table.price('gpt-4o-mini')).toEqual({ input: 0.15, output: 0.6 })
    expect(readFileSync(join(import.meta.dirname, '../../../config/model-prices.example.yaml'), 'utf8')).toMatch(
      /Source: .*https:\/\/openai\.com\/api\/pricing/,
    )
  })
})
