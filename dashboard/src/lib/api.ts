/** A failed API call: the server's `{ error: { code, message } }`, or a network failure (status 0). */
export class ApiError extends Error {
  override name = 'ApiError'
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

export interface Api {
  get<T>(path: string): Promise<T>
  post<T>(path: string, body?: unknown): Promise<T>
  put<T>(path: string, body?: unknown): Promise<T>
  patch<T>(path: string, body?: unknown): Promise<T>
  delete<T>(path: string): Promise<T>
}

/**
 * JSON over fetch with the session cookie (same origin). A 401 means the session ended:
 * `onUnauthorized` sends the user back to the sign-in page.
 */
export function createApi(options: { fetch?: typeof fetch; onUnauthorized?: () => void } = {}): Api {
  const doFetch = options.fetch ?? ((input, init) => fetch(input, init))

  async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response
    try {
      res = await doFetch(path, {
        method,
        credentials: 'same-origin',
        headers:
          body === undefined
            ? { accept: 'application/json' }
            : { accept: 'application/json', 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      })
    } catch (err) {
      throw new ApiError(
        0,
        'network_error',
        `Cannot reach the server (${err instanceof Error ? err.message : String(err)})`,
      )
    }
    if (res.status === 204) return undefined as T
    const text = await res.text()
    let data: unknown = null
    try {
      data = text ? JSON.parse(text) : null
    } catch {
      // Not JSON (a proxy's error page): described below.
    }
    if (!res.ok) {
      const error = (data as { error?: { code?: string; message?: string } } | null)?.error
      if (res.status === 401 && path !== '/api/auth/session') options.onUnauthorized?.()
      throw new ApiError(
        res.status,
        error?.code ?? `http_${res.status}`,
        error?.message ?? `${method} ${path} failed with HTTP ${res.status}`,
      )
    }
    return data as T
  }

  return {
    get: (path) => request('GET', path),
    post: (path, body) => request('POST', path, body ?? {}),
    put: (path, body) => request('PUT', path, body ?? {}),
    patch: (path, body) => request('PATCH', path, body ?? {}),
    delete: (path) => request('DELETE', path),
  }
}
