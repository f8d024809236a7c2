import type { ChatMessage } from './providers/types.js'

/**
 * Text cut into stream pieces: each word with the whitespace after it (leading whitespace is a
 * piece of its own), so the pieces join back to the exact text. Cached replies are replayed
 * in these pieces, and the simulated provider generates them.
 */
export function splitTokens(text: string): string[] {
  return text.match(/\S+\s*|\s+/g) ?? []
}

/** A rough token count (about four characters a token) for providers that report no usage. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4)
}

/** Prompt tokens of a message list: content plus a small per-message overhead, as chat formats add. */
export function estimatePromptTokens(messages: ChatMessage[]): number {
  return messages.reduce((sum, m) => sum + estimateTokens(m.content) + 4, 0)
}
