import { readFileSync } from 'node:fs'
import { parse } from 'yaml'

/** USD per million tokens. */
export interface ModelPrice {
  input: number
  output: number
}

/**
 * The price table of MODEL_PRICES_FILE: model → { input, output } in USD per million tokens.
 * A model it does not list has no cost (null), never an invented one.
 */
export class PriceTable {
  constructor(private readonly prices: ReadonlyMap<string, ModelPrice> = new Map()) {}

  static fromYaml(text: string, source = 'MODEL_PRICES_FILE'): PriceTable {
    const doc: unknown = parse(text)
    if (doc === null || doc === undefined) return new PriceTable()
    if (typeof doc !== 'object' || Array.isArray(doc))
      throw new Error(`${source}: expected a mapping of model → { input, output } (USD per million tokens)`)
    const prices = new Map<string, ModelPrice>()
    for (const [model, value] of Object.entries(doc as Record<string, unknown>)) {
      const price = value as Partial<Record<'input' | 'output', unknown>> | null
      const valid = (x: unknown) => typeof x === 'number' && Number.isFinite(x) && x >= 0
      if (!price || typeof price !== 'object' || !valid(price.input) || !valid(price.output))
        throw new Error(`${source}: ${model} needs input and output prices (numbers ≥ 0, USD per million tokens)`)
      prices.set(model, { input: price.input as number, output: price.output as number })
    }
    return new PriceTable(prices)
  }

  static fromFile(file: string | undefined): PriceTable {
    return file === undefined ? new PriceTable() : PriceTable.fromYaml(readFileSync(file, 'utf8'), file)
  }

  price(model: string): ModelPrice | undefined {
    return this.prices.get(model)
  }

  /** USD, or null when the model has no price. */
  cost(model: string, promptTokens: number, completionTokens: number): number | null {
    const price = this.prices.get(model)
    if (!price) return null
    return (promptTokens * price.input + completionTokens * price.output) / 1_000_000
  }
}
