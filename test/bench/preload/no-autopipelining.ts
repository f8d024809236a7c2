/**
 * Loaded with `--import` into the service for the auto-pipelining baseline, while the
 * service has no switch of its own: every ioredis client of the process connects with
 * enableAutoPipelining off (ioredis reads the option on each command).
 */
import { Redis } from 'ioredis'

process.stderr.write('bench preload: ioredis auto-pipelining off\n')
const connect = Redis.prototype.connect
Redis.prototype.connect = function (this: Redis, ...args: Parameters<Redis['connect']>) {
  this.options.enableAutoPipelining = false
  return connect.apply(this, args)
}
