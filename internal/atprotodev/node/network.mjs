// Starts the reference AT Protocol network of @atproto/dev-env (a PLC directory, a PDS, the
// Bluesky AppView and the services they need) on 127.0.0.1 only, and writes its addresses as JSON
// to the file named by the first argument once it is ready. It stops on SIGTERM or SIGINT.
//
// Environment (set by the Go harness, internal/atprotodev):
//   DB_POSTGRES_URL          the AppView's PostgreSQL (a throwaway cluster)
//   REDIS_HOST               required by dev-env, unused by the services started here
//   RESURGE_RATE_LIMIT_SCALE divides the PDS's rate-limit windows (default 1: as shipped), so
//                            that a test can wait for a reset (5 minutes / 60 = 5 s)
import fs from 'node:fs'
import net from 'node:net'
import { createRequire } from 'node:module'

const out = process.argv[2]
if (!out) {
  console.error('usage: node network.mjs PORTS_FILE')
  process.exit(2)
}

// Every server dev-env starts calls listen(port) without a host, which binds all interfaces:
// give each one the loopback address instead.
const LOOPBACK = '127.0.0.1'
const wildcard = (h) => h === undefined || h === null || h === '' || h === '0.0.0.0' || h === '::'
const listen = net.Server.prototype.listen
net.Server.prototype.listen = function (...args) {
  const [first] = args
  if (first !== null && typeof first === 'object' && !Array.isArray(first)) {
    if (first.path === undefined && first.fd === undefined && first.handle === undefined && wildcard(first.host)) {
      args[0] = { ...first, host: LOOPBACK }
    }
  } else if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
    if (typeof args[1] === 'string' || args[1] === null || args[1] === undefined) {
      if (wildcard(args[1])) args[1] = LOOPBACK
    } else {
      args.splice(1, 0, LOOPBACK) // listen(port, backlog or callback)
    }
  }
  return listen.apply(this, args)
}

// The PDS's rate limiters (rate-limiter-flexible's memory limiter, as shipped) with their
// windows divided by the scale. Patched before anything imports it, so every limiter is one.
const scale = Number(process.env.RESURGE_RATE_LIMIT_SCALE || '1')
if (!(scale >= 1)) {
  console.error(`RESURGE_RATE_LIMIT_SCALE must be a number >= 1, got ${process.env.RESURGE_RATE_LIMIT_SCALE}`)
  process.exit(2)
}
if (scale > 1) {
  const rlf = createRequire(import.meta.url)('rate-limiter-flexible')
  const Memory = rlf.RateLimiterMemory
  rlf.RateLimiterMemory = class extends Memory {
    constructor(opts = {}) {
      super({ ...opts, duration: Math.max(1, Math.round((opts.duration ?? 1) / scale)) })
    }
  }
}

const { TestNetwork, JWT_SECRET, ADMIN_PASSWORD } = await import('@atproto/dev-env')
const network = await TestNetwork.create({
  dbPostgresSchema: 'resurge',
  pds: { hostname: 'localhost', rateLimitsEnabled: true },
})

let closing = false
const stop = async () => {
  if (closing) return
  closing = true
  try {
    await network.close()
  } finally {
    process.exit(0)
  }
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)

const addrs = {
  plc: network.plc.url,
  pds: network.pds.url,
  appview: network.bsky.url,
  appview_did: network.bsky.ctx.cfg.serverDid,
  pds_did: network.pds.ctx.cfg.service.did,
  jwt_secret: JWT_SECRET,
  admin_password: ADMIN_PASSWORD,
}
fs.writeFileSync(out + '.tmp', JSON.stringify(addrs))
fs.renameSync(out + '.tmp', out)
console.log('ready', JSON.stringify({ plc: addrs.plc, pds: addrs.pds, appview: addrs.appview }))
