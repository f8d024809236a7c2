import type { FastifyBaseLogger } from 'fastify'
import type { Config } from '../../config.js'
import { OpenAIProvider } from './openai.js'
import { SimulatedProvider } from './simulated.js'
import type { ChatProvider } from './types.js'

/** CHAT_PROVIDER picks one. */
export function createProvider(config: Config['chat'], log: FastifyBaseLogger): ChatProvider {
  return config.provider === 'openai' ? new OpenAIProvider(config.openai, log) : new SimulatedProvider(config.simulated)
}
