export function dashboardIsFresh(): boolean
export function buildDashboard(options?: { force?: boolean }): Promise<boolean>
