'use strict'

// The benchmark's extension functions, the way a connector developer writes them for
// integrator-extension: `hooks.<name>(options, callback)`.
//
// `transform` follows the same rules as benches/components/presave/src/transform.rs:
// records with `deleted: true` are dropped; every other object record gets `processed: true`,
// its string `status` upper-cased, and `total` = the sum of `qty * price` over its `lines`
// (entries where both are numbers); records that are not objects pass through unchanged.

function transformRecord (record) {
  let total = 0
  if (Array.isArray(record.lines)) {
    for (const line of record.lines) {
      if (line !== null && typeof line === 'object' && typeof line.qty === 'number' && typeof line.price === 'number') {
        total += line.qty * line.price
      }
    }
  }
  record.processed = true
  if (typeof record.status === 'string') record.status = record.status.toUpperCase()
  record.total = total
  return record
}

exports.hooks = {
  // preSavePage that returns an empty page without looking at its options.
  noop: function (options, callback) {
    return callback(null, { data: [], errors: [], abort: false, newErrorsAndRetryData: [] })
  },

  // preSavePage that transforms the page's records.
  transform: function (options, callback) {
    const data = []
    for (const record of options.data || []) {
      if (record === null || typeof record !== 'object' || Array.isArray(record)) {
        data.push(record)
      } else if (record.deleted !== true) {
        data.push(transformRecord(record))
      }
    }
    return callback(null, {
      data,
      errors: options.errors || [],
      abort: false,
      newErrorsAndRetryData: []
    })
  }
}
