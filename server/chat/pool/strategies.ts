import type { Strategy } from './pool-file.js'
import type { Member } from './member.js'

/**
 * Picks one of `candidates` (non-empty, all eligible). Weighted round-robin is nginx's smooth
 * algorithm: shares follow the weights exactly over any run of sum(weights) picks, interleaved.
 */
export function pick(strategy: Strategy, candidates: Member[]): Member {
  if (strategy === 'least-busy') return lowest(candidates, (m) => m.inFlight / m.weight)
  if (strategy === 'latency') return lowest(candidates, (m) => m.meanLatencyMs())
  let total = 0
  let best = candidates[0]!
  for (const m of candidates) {
    m.current += m.weight
    total += m.weight
    if (m.current > best.current) best = m
  }
  best.current -= total
  return best
}

/** The lowest score; ties go round-robin, so equal upstreams share the load. */
function lowest(candidates: Member[], score: (m: Member) => number): Member {
  const min = Math.min(...candidates.map(score))
  return pick(
    'round-robin',
    candidates.filter((m) => score(m) === min),
  )
}
