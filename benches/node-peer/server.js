'use strict'

// The peer of the extension benchmark (runtime/benches/extension.rs): an express extension
// server built on the published `integrator-extension` package, the way the original platform's
// stacks of type "server" run hooks (celigo/express-integrator-extension): integrator.io POSTs
//   /function  {"diy": true, "type": "hook", "function": "<name>", "maxResponseSize": <n>,
//               "options": {...}}
// with `Authorization: Bearer <the stack's systemToken>`, and gets the function's result as the
// JSON answer (or 422 {"errors": [...]}).
//
// Environment: SYSTEM_TOKEN (required), PORT (default 0: any free port). Listens on 127.0.0.1
// only, and prints `listening on http://127.0.0.1:<port>` once ready.

const util = require('util')
const express = require('express')
const Extension = require('integrator-extension')

function ExpressExtension () {}
util.inherits(ExpressExtension, Extension)

ExpressExtension.prototype.validateConfigurationSpecifics = function (config, callback) {
  if (!config.systemToken) return callback(new Error('systemToken is required'))
  return callback()
}

ExpressExtension.prototype.isAuthorized = function (req) {
  const header = req.headers.authorization
  if (!header) return false
  const parts = header.split(' ')
  if (parts.length !== 2 || !/^Bearer$/i.test(parts[0])) return false
  return parts[1] === this.getConfiguration().systemToken
}

const extension = new ExpressExtension()
let requests = 0

function createServer (config, callback) {
  extension.loadConfiguration(config, function (err) {
    if (err) return callback(err)
    const app = express()
    app.use(express.json({ limit: '50mb' }))

    app.get('/healthCheck', function (req, res) {
      res.json({ success: true })
    })

    app.post('/function', function authenticate (req, res, next) {
      if (extension.isAuthorized(req)) return next()
      res.set('WWW-Authenticate', 'invalid system token')
      return res.status(401).json({ errors: [{ code: 'unauthorized', message: 'invalid system token' }] })
    }, function callFunction (req, res) {
      req.body._reqId = Date.now() + '-' + (++requests)
      extension.callFunction(req.body.options, req.body, function (err, result) {
        if (err) return res.status(err.statusCode).json({ errors: err.errors })
        return res.json(result)
      })
    })

    const server = app.listen(Number(config.port || 0), '127.0.0.1', function () {
      return callback(null, server)
    })
    server.keepAliveTimeout = 301000
    server.headersTimeout = 305000
  })
}

createServer({
  diy: require('./functions'),
  systemToken: process.env.SYSTEM_TOKEN,
  port: process.env.PORT
}, function (err, server) {
  if (err) {
    console.error('express integrator-extension server failed to start:', err.message || err)
    process.exit(1)
  }
  console.log('listening on http://127.0.0.1:' + server.address().port)
})

process.on('SIGTERM', function () { process.exit(0) })
