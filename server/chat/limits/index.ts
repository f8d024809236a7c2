export {
  ChatLimits,
  estimatePromptTokens,
  requestReservation,
  resetDuration,
  type Admission,
  type Reservation,
} from './limiter.js'
export { MemoryLimitStore, type LimitValues } from './buckets.js'
