// A workbook over the orchestrator's metrics (infra/modules/workbook.json): trainings in flight, outcomes over
// time, duration and detection delay, Face calls and 429s, requests by result, and the poison queue.

param location string
param tags object
param applicationInsightsId string

resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  name: guid(applicationInsightsId, 'facetrain-workbook')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: 'facetrain'
    category: 'workbook'
    version: 'Notebook/1.0'
    sourceId: applicationInsightsId
    serializedData: loadTextContent('workbook.json')
  }
}

output id string = workbook.id
