// Drives a live LocalSpot with HubSpot's official Node SDK and prints what it saw as one JSON object.
// Run by tests/sdk/test_node_sdk.py; inputs come from the environment:
//   LOCALSPOT_URL, LOCALSPOT_TOKEN, KEY_PROPERTY (a hasUniqueValue tasks property), KEY (a fresh key value)
'use strict'

const hubspot = require('@hubspot/api-client')

const client = new hubspot.Client({
  accessToken: process.env.LOCALSPOT_TOKEN,
  basePath: process.env.LOCALSPOT_URL,
})
const idProperty = process.env.KEY_PROPERTY
const key = process.env.KEY

function summary(response) {
  return {
    className: response.constructor.name,
    status: response.status,
    numErrors: response.numErrors ?? null,
    startedAtIsDate: response.startedAt instanceof Date,
    results: response.results.map((r) => ({
      id: r.id,
      new: r._new,
      properties: r.properties,
      createdAt: r.createdAt.toISOString(),
      updatedAt: r.updatedAt.toISOString(),
      objectWriteTraceId: r.objectWriteTraceId ?? null,
    })),
    errors: (response.errors ?? []).map((e) => ({ category: e.category, context: e.context })),
  }
}

async function expectError(call) {
  try {
    await call()
    return { code: null }
  } catch (e) {
    return { code: e.code, body: typeof e.body === 'string' ? JSON.parse(e.body) : e.body }
  }
}

async function main() {
  const when = '2024-01-01T00:00:00Z'
  const created = await client.crm.objects.tasks.batchApi.upsert({
    inputs: [{ id: key, idProperty, properties: { hs_task_subject: 'from node', hs_timestamp: when } }],
  })
  await new Promise((resolve) => setTimeout(resolve, 10))
  const updated = await client.crm.objects.tasks.batchApi.upsert({
    inputs: [{ id: key, idProperty, properties: { hs_task_subject: 'from node, again' } }],
  })
  const partial = await client.crm.objects.tasks.batchApi.upsert({
    inputs: [
      { id: `${key}-ok`, idProperty, objectWriteTraceId: 'ok', properties: { hs_timestamp: when } },
      { id: `${key}-bad`, idProperty, objectWriteTraceId: 'bad', properties: { hs_task_priority: 'URGENT!', hs_timestamp: when } },
    ],
  })
  const read = await client.crm.objects.tasks.basicApi.getById(key, ['hs_task_subject'], ['hs_task_subject'], undefined, false, idProperty)
  const notFound = await expectError(() => client.crm.objects.tasks.basicApi.getById('987654321'))
  const badToken = await expectError(() =>
    new hubspot.Client({ accessToken: 'pat-na1-unknown', basePath: process.env.LOCALSPOT_URL }).crm.objects.tasks.basicApi.getById('1'))

  process.stdout.write(JSON.stringify({
    created: summary(created),
    updated: summary(updated),
    partial: summary(partial),
    read: {
      id: read.id,
      properties: read.properties,
      history: read.propertiesWithHistory.hs_task_subject.map((v) => v.value),
    },
    notFound,
    badToken,
  }) + '\n')
}

main().catch((e) => {
  process.stderr.write(`${e.stack || e}\n${e.body ? JSON.stringify(e.body) : ''}\n`)
  process.exit(1)
})
