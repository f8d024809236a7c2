import type { Config } from '../../config.js'
import { OpenAIProvider } from './openai.js'
import { SimulatedProvider } from './simulated.js'
import type { ChatProvider } from './types.js'

/** CHAT_PROVIDER picks one. */
export function createProvider(config: Config['chat']): ChatProvider {
  return config.provider === 'openai' ? new OpenAIProvider(config.openai) : new SimulatedProvider(config.simulated)
}
