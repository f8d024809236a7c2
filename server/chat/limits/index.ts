export { ChatLimits, estimatePromptTokens, resetDuration, type Admission } from './limiter.js'
export { MemoryLimitStore, type LimitValues } from './buckets.js'
