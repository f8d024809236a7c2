import type { ClientRequest, IncomingMessage } from 'node:http'
import type { TLSSocket } from 'node:tls'
import type { ProxyOptions } from 'vite'

/**
 * The Vite dev server's proxy for `/api` (REST and the live WebSocket) to a running server.
 *
 * The server refuses an unsafe request or a WebSocket upgrade signed in with the session
 * cookie unless its `Origin` is PUBLIC_URL's origin (server/auth/csrf.ts). Through this
 * proxy the browser's origin is the dev server's (http://localhost:5173), so the proxy
 * vouches for its own pages only: a request whose Origin is the dev server's own origin
 * (scheme and the Host it was sent to) reaches the server with Origin = `target`'s origin;
 * any other Origin (another port, another site) is passed on as it came and refused there.
 * `target` must therefore be the server's PUBLIC_URL (the default http://127.0.0.1:3000 is).
 */
export function apiProxy(target: string): ProxyOptions {
  const targetOrigin = new URL(target).origin
  const vouch = (proxyReq: ClientRequest, req: IncomingMessage) => {
    const origin = req.headers.origin
    const host = req.headers.host
    const scheme = (req.socket as TLSSocket).encrypted ? 'https' : 'http'
    if (origin && host && origin === new URL(`${scheme}://${host}`).origin) proxyReq.setHeader('origin', targetOrigin)
  }
  return {
    target,
    ws: true,
    // Host: the target's, so the request looks like one made to the server directly.
    changeOrigin: true,
    configure(proxy) {
      proxy.on('proxyReq', (proxyReq, req) => vouch(proxyReq, req))
      proxy.on('proxyReqWs', (proxyReq, req) => vouch(proxyReq, req))
    },
  }
}
