// Reads a JSON array of cases from stdin, each an array of DTDL documents; prints one JSON
// array: for each case, {"valid": bool, "ids": [ValidationID, ...], "kind": ExceptionKind}.
import { getInterop } from '@digicatapult/dtdl-parser'

const chunks = []
for await (const chunk of process.stdin) chunks.push(chunk)
const cases = JSON.parse(Buffer.concat(chunks).toString('utf-8'))
const parser = await getInterop()
const out = cases.map((docs) => {
  try {
    parser.parse(JSON.stringify(docs))
    return { valid: true, ids: [], kind: null }
  } catch (err) {
    let body = {}
    try { body = JSON.parse(err.message) } catch { body = { ExceptionKind: 'Unknown' } }
    const ids = (body.Errors || []).map((e) => e.ValidationID)
    return { valid: false, ids, kind: body.ExceptionKind || null }
  }
})
process.stdout.write(JSON.stringify(out))
