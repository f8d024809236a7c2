/**
 * Id of the note a page shows a viewer ("actions need an admin token"): its row actions stay
 * visible, disabled, and point at the note with aria-describedby instead of repeating it.
 */
export const VIEWER_REASON_ID = 'viewer-reason'
