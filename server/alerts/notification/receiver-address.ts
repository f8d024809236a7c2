import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns'
import { isIP } from 'node:net'
import ipaddr from 'ipaddr.js'

/**
 * Which hosts a receiver may send to. Receivers are URLs an admin types, and the server
 * connects to them: without a policy they reach the cloud metadata service or probe the
 * network the server sits in. Metadata, link-local and multicast addresses are always
 * refused; loopback, private, unspecified and reserved ones only with
 * ALERT_RECEIVER_ALLOW_PRIVATE=false (the default allows them: self-hosted receivers often live
 * on the LAN). Names are resolved when a receiver is saved and again by every connection,
 * which connects only to the addresses it checked (so DNS rebinding between the two gains
 * nothing).
 */
export type AddressClass =
  'public' | 'metadata' | 'link-local' | 'multicast' | 'loopback' | 'private' | 'unspecified' | 'reserved'

const ALWAYS_REFUSED: ReadonlySet<AddressClass> = new Set(['metadata', 'link-local', 'multicast'])

const REASONS: Record<Exclude<AddressClass, 'public'>, string> = {
  metadata: 'a cloud metadata address',
  'link-local': 'a link-local address',
  multicast: 'a multicast or broadcast address',
  loopback: 'a loopback address',
  private: 'a private address',
  unspecified: 'the unspecified address',
  reserved: 'a reserved address',
}

/** Instance metadata services: AWS (IMDS, ECS, EKS), Alibaba, Azure's WireServer. */
const METADATA_ADDRESSES = new Set(
  [
    '169.254.169.254',
    '169.254.170.2',
    '169.254.170.23',
    '100.100.100.200',
    '168.63.129.16',
    'fd00:ec2::254',
    'fd00:ec2::23',
  ].map((a) => ipaddr.parse(a).toNormalizedString()),
)
/** Names of metadata services, refused before they are resolved. */
const METADATA_NAMES = new Set([
  'metadata',
  'metadata.google.internal',
  'metadata.goog',
  'instance-data',
  'instance-data.ec2.internal',
])

const V4_RANGES: Record<string, AddressClass> = {
  unicast: 'public',
  unspecified: 'unspecified',
  broadcast: 'multicast',
  multicast: 'multicast',
  linkLocal: 'link-local',
  loopback: 'loopback',
  carrierGradeNat: 'private',
  private: 'private',
}
const V6_RANGES: Record<string, AddressClass> = {
  unicast: 'public',
  unspecified: 'unspecified',
  linkLocal: 'link-local',
  multicast: 'multicast',
  loopback: 'loopback',
  uniqueLocal: 'private',
  deprecatedSiteLocal: 'private',
}

/** The IPv4 address an IPv6 one carries (mapped, translated, NAT64, 6to4, IPv4-compatible), if any. */
function embeddedIPv4(address: ipaddr.IPv6): ipaddr.IPv4 | null {
  const p = address.parts
  const v4 = (high: number, low: number) => new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff])
  const range = address.range() as string
  if (range === 'ipv4Mapped' || range === 'rfc6145') return v4(p[6]!, p[7]!)
  if (range === 'rfc6052' && p[1] === 0xff9b && p[2] === 0) return v4(p[6]!, p[7]!)
  if (range === '6to4') return v4(p[1]!, p[2]!)
  // ::a.b.c.d (IPv4-compatible, deprecated), but not :: and ::1.
  if (p.slice(0, 6).every((x) => x === 0) && (p[6] !== 0 || p[7]! > 1)) return v4(p[6]!, p[7]!)
  return null
}

function classify(address: ipaddr.IPv4 | ipaddr.IPv6): AddressClass {
  if (METADATA_ADDRESSES.has(address.toNormalizedString())) return 'metadata'
  if (address.kind() === 'ipv6') {
    const v6 = address as ipaddr.IPv6
    const v4 = embeddedIPv4(v6)
    if (v4) return classify(v4)
    return V6_RANGES[v6.range()] ?? 'reserved'
  }
  return V4_RANGES[(address as ipaddr.IPv4).range()] ?? 'reserved'
}

/** The class of an address in any notation ipaddr.js reads (0x7f000001, 2130706433, 0177.0.0.1…); null if it is none. */
export function classifyAddress(address: string): AddressClass | null {
  const bare = address.replace(/^\[(.*)\]$/, '$1')
  return ipaddr.isValid(bare) ? classify(ipaddr.parse(bare)) : null
}

export interface Refusal {
  /** The host as the URL names it. */
  host: string
  /** The refused address; null for a metadata service's name. */
  address: string | null
  class: Exclude<AddressClass, 'public'>
  /** `a loopback address`, … */
  reason: string
  /** Whether ALERT_RECEIVER_ALLOW_PRIVATE=true would allow it. */
  private: boolean
}

/**
 * For the admin who saves, after "body/url names": the host, the address it resolves to and
 * the setting (`localhost, which resolves to 127.0.0.1, a loopback address, refused while …`).
 */
export function describeRefusal(refusal: Refusal): string {
  const what =
    refusal.address === null || refusal.address === refusal.host
      ? `${refusal.host}, ${refusal.reason}`
      : `${refusal.host}, which resolves to ${refusal.address}, ${refusal.reason}`
  return `${what}, ${refusal.private ? 'refused while ALERT_RECEIVER_ALLOW_PRIVATE=false' : 'which receivers may never use'}`
}

/** For lastError, which viewers read: our reason only, no address. */
export function refusalReason(refusal: Refusal): string {
  const verb = refusal.address === null || refusal.address === refusal.host ? 'is' : 'resolves to'
  return `refused by the receiver address policy: the host ${verb} ${refusal.reason}${refusal.private ? ' (ALERT_RECEIVER_ALLOW_PRIVATE=false)' : ''}`
}

/** What a connection's lookup fails with when the policy refuses the host. */
export class ReceiverAddressRefused extends Error {
  override name = 'ReceiverAddressRefused'
  readonly code = 'ERECEIVERREFUSED'
  constructor(readonly refusal: Refusal) {
    super(`receiver host ${describeRefusal(refusal)}`)
  }
}

export type Resolve = (hostname: string) => Promise<LookupAddress[]>

const systemResolve: Resolve = (hostname) =>
  new Promise((resolve, reject) =>
    dnsLookup(hostname, { all: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))),
  )

/** A save waits this long for DNS; a name still unresolved counts as not resolving (it is checked again at send). */
const SAVE_RESOLVE_TIMEOUT_MS = 5_000

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void

export class ReceiverAddressPolicy {
  private readonly allowPrivate: boolean
  private readonly resolve: Resolve

  constructor(options: { allowPrivate: boolean; resolve?: Resolve }) {
    this.allowPrivate = options.allowPrivate
    this.resolve = options.resolve ?? systemResolve
  }

  private refusalOf(host: string, address: string): Refusal | null {
    const found = classifyAddress(address)
    if (found === null || found === 'public') return null
    if (!ALWAYS_REFUSED.has(found) && this.allowPrivate) return null
    return { host, address, class: found, reason: REASONS[found], private: !ALWAYS_REFUSED.has(found) }
  }

  /** What can be told without DNS: a literal address or a metadata service's name. Undefined: resolve it. */
  refusalWithoutDns(hostname: string): Refusal | null | undefined {
    const host = hostname.replace(/^\[(.*)\]$/, '$1')
    if (isIP(host)) return this.refusalOf(host, host)
    const name = host.toLowerCase().replace(/\.$/, '')
    if (METADATA_NAMES.has(name))
      return { host, address: null, class: 'metadata', reason: REASONS.metadata, private: false }
    return undefined
  }

  /**
   * The check at save: null when the URL's host is allowed. A name is resolved and refused if
   * any of its addresses is; a name that does not resolve now has nothing to refuse.
   */
  async checkUrl(url: string): Promise<Refusal | null> {
    const { hostname } = new URL(url)
    const early = this.refusalWithoutDns(hostname)
    if (early !== undefined) return early
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), SAVE_RESOLVE_TIMEOUT_MS)
    })
    try {
      const addresses = await Promise.race([this.resolve(hostname).catch(() => null), timeout])
      for (const { address } of addresses ?? []) {
        const refusal = this.refusalOf(hostname, address)
        if (refusal) return refusal
      }
      return null
    } finally {
      clearTimeout(timer)
    }
  }

  /** Resolves a name for a connection; rejects with ReceiverAddressRefused if any address is refused. */
  async resolveChecked(hostname: string): Promise<LookupAddress[]> {
    const early = this.refusalWithoutDns(hostname)
    if (early) throw new ReceiverAddressRefused(early)
    const addresses = await this.resolve(hostname)
    for (const { address } of addresses) {
      const refusal = this.refusalOf(hostname, address)
      if (refusal) throw new ReceiverAddressRefused(refusal)
    }
    return addresses
  }

  /**
   * `lookup` for net/tls.connect: the connection is made to exactly the addresses checked here.
   * (Connections to a literal address do not call it: check those with refusalWithoutDns.)
   */
  readonly lookup = (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
    this.resolveChecked(hostname).then(
      (all) => {
        const family = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : options.family
        const addresses = family === 4 || family === 6 ? all.filter((a) => a.family === family) : all
        if (!addresses.length) {
          const err: NodeJS.ErrnoException = new Error(`no IPv${family} address for ${hostname}`)
          err.code = 'ENOTFOUND'
          callback(err, '')
        } else if (options.all) callback(null, addresses)
        else callback(null, addresses[0]!.address, addresses[0]!.family)
      },
      (err: NodeJS.ErrnoException) => callback(err, ''),
    )
  }
}
