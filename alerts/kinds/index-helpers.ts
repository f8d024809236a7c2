export { alertLink, alertLine, alertSummary, groupTitle, truncate } from './summary.js'
export type { Renderer } from './types.js'
