import type { LookupAddress } from 'node:dns'
import { describe, expect, it } from 'vitest'
import {
  ReceiverAddressPolicy,
  classifyAddress,
  type Resolve,
} from '../../../server/alerts/notification/receiver-address.js'

/** A resolver that answers from a table (a name it does not know: ENOTFOUND, as getaddrinfo says). */
function table(answers: Record<string, string[]>): Resolve {
  return async (hostname) => {
    const addresses = answers[hostname]
    if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' })
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }))
  }
}

const strict = (resolve: Resolve = table({})) => new ReceiverAddressPolicy({ allowPrivate: false, resolve })
const lenient = (resolve: Resolve = table({})) => new ReceiverAddressPolicy({ allowPrivate: true, resolve })

describe('receiver address policy', () => {
  it.each([
    ['169.254.169.254', 'metadata'],
    ['169.254.170.2', 'metadata'],
    ['fd00:ec2::254', 'metadata'],
    ['100.100.100.200', 'metadata'],
    ['168.63.129.16', 'metadata'],
    ['169.254.1.1', 'link-local'],
    ['fe80::1', 'link-local'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['64:ff9b::a9fe:a9fe', 'metadata'],
    ['127.0.0.1', 'loopback'],
    ['127.1.2.3', 'loopback'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::127.0.0.1', 'loopback'],
    ['2002:7f00:1::', 'loopback'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'private'],
    ['fc00::1', 'private'],
    ['fd12:3456::1', 'private'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'multicast'],
    ['ff02::1', 'multicast'],
    ['172.32.0.1', 'public'],
    ['8.8.8.8', 'public'],
    ['2606:4700::1111', 'public'],
  ])('%s is %s', (address, expected) => {
    expect(classifyAddress(address)).toBe(expected)
  })

  it('reads the numeric forms a URL or a resolver may give as the address they are', () => {
    for (const form of ['0x7f000001', '2130706433', '0177.0.0.1', '0x7f.1', '127.1'])
      expect(classifyAddress(form), form).toBe('loopback')
    expect(classifyAddress('0xa9fea9fe')).toBe('metadata')
    expect(classifyAddress('not-an-address')).toBeNull()
  })

  it('always refuses link-local and metadata targets; loopback and private ranges only when told to', async () => {
    for (const policy of [strict(), lenient()]) {
      for (const url of [
        'http://169.254.169.254/latest/meta-data/',
        'http://[fd00:ec2::254]/',
        'http://[fe80::1]:8080/',
        'http://[::ffff:169.254.169.254]/',
        'http://0xa9fea9fe/',
        'http://metadata.google.internal/computeMetadata/v1/',
        'http://METADATA.google.internal./',
      ])
        expect((await policy.checkUrl(url))?.reason, url).toMatch(/metadata|link-local/)
    }
    for (const url of ['http://[::1]:9/', 'http://0x7f000001:9/', 'http://2130706433/', 'http://0177.0.0.1/']) {
      expect(await lenient().checkUrl(url), url).toBeNull()
      expect((await strict().checkUrl(url))?.reason, url).toMatch(/loopback/)
    }
    expect((await strict().checkUrl('http://10.0.0.5/'))?.reason).toMatch(/private/)
    expect((await strict().checkUrl('http://0.0.0.0:80/'))?.reason).toMatch(/unspecified/)
  })

  it('resolves a name and refuses it when any of its addresses is refused', async () => {
    const resolve = table({
      'lan.example': ['192.168.1.20'],
      'mixed.example': ['93.184.215.14', '127.0.0.1'],
      'rebinds.example': ['169.254.169.254'],
      'public.example': ['93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c'],
    })
    expect(await lenient(resolve).checkUrl('https://lan.example/hook')).toBeNull()
    expect(await strict(resolve).checkUrl('https://lan.example/hook')).toMatchObject({
      address: '192.168.1.20',
      class: 'private',
    })
    expect(await strict(resolve).checkUrl('https://mixed.example/')).toMatchObject({ address: '127.0.0.1' })
    expect(await lenient(resolve).checkUrl('https://rebinds.example/')).toMatchObject({ class: 'metadata' })
    expect(await strict(resolve).checkUrl('https://public.example/')).toBeNull()
    // A name that does not resolve now has no address to refuse; it is checked again at each send.
    expect(await strict(resolve).checkUrl('https://nowhere.example/')).toBeNull()
  })

  it('gives the connection exactly the addresses it checked, and refuses the connection otherwise', async () => {
    const calls: string[] = []
    const answers = [['127.0.0.1'], ['169.254.169.254']]
    const resolve: Resolve = async (hostname) => {
      calls.push(hostname)
      return (answers[calls.length - 1] ?? []).map((address) => ({ address, family: 4 }))
    }
    const policy = lenient(resolve)
    const lookup = (options: { all?: boolean }) =>
      new Promise<{ err: NodeJS.ErrnoException | null; result: unknown; family?: number }>((resolve) =>
        policy.lookup('rebind.example', options, (err, result, family) => resolve({ err, result, family })),
      )
    expect(await lookup({ all: true })).toEqual({
      err: null,
      result: [{ address: '127.0.0.1', family: 4 }] satisfies LookupAddress[],
      family: undefined,
    })
    const second = await lookup({})
    expect(second.err).toMatchObject({ code: 'ERECEIVERREFUSED' })
    expect(second.err!.message).toMatch(
      /rebind\.example, which resolves to 169\.254\.169\.254, a cloud metadata address/,
    )
    expect(calls).toEqual(['rebind.example', 'rebind.example'])
  })
})
