// Alerts on the orchestrator's metrics (orchestrator/metrics.py, exported to Application Insights as
// customMetrics) and on the function host's invocations (requests), with one action group for all of them. Every
// threshold is a parameter; main.bicep gives the defaults, which docs/operations.md lists ("Alerts").

param location string
param tags object
param applicationInsightsId string

@description('Who is e-mailed when an alert fires. Empty: the action group has no receiver (add one in the portal).')
param alertEmail string

@description('Poisoned requests: alert when the poison queue holds more messages than this.')
param poisonedMessagesThreshold int

@description('Failed or timed-out trainings: alert when an hour holds at least this many.')
param failedTrainingsPerHour int

@description('A training in flight longer than this many minutes (below MAX_TRAINING_MINUTES, which ends it).')
param stuckTrainingMinutes int

@description('Face throttling: alert when each of three 5-minute windows in a row holds at least this many 429s.')
param throttledCallsPer5Minutes int

@description('Function failures: alert when 15 minutes hold at least this many failed invocations.')
param functionFailuresPer15Minutes int

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: 'ag-facetrain'
  location: 'Global'
  tags: tags
  properties: {
    groupShortName: 'facetrain'
    enabled: true
    emailReceivers: empty(alertEmail) ? [] : [
      {
        name: 'operator'
        emailAddress: alertEmail
        useCommonAlertSchema: true
      }
    ]
  }
}

// Each rule: a Kusto query over Application Insights whose one column is compared with the threshold.
var rules = [
  {
    name: 'facetrain-poisoned-requests'
    displayName: 'facetrain: requests poisoned'
    description: 'The host gave up on training requests and moved them to the poison queue; no event answers them.'
    severity: 1
    query: 'customMetrics | where name == "facetrain.requests.poisoned" | summarize poisoned = max(value)'
    timeAggregation: 'Maximum'
    measure: 'poisoned'
    operator: 'GreaterThan'
    threshold: poisonedMessagesThreshold
    windowSize: 'PT15M'
    evaluationFrequency: 'PT5M'
    periods: 1
  }
  {
    name: 'facetrain-failed-trainings'
    displayName: 'facetrain: trainings failing'
    description: 'Trainings ended failed, timed out, refused or given up (any outcome but succeeded).'
    severity: 2
    query: 'customMetrics | where name == "facetrain.trainings.finished" | where tostring(customDimensions["facetrain.training.outcome"]) != "succeeded" | summarize failed = sum(value)'
    timeAggregation: 'Total'
    measure: 'failed'
    operator: 'GreaterThanOrEqual'
    threshold: failedTrainingsPerHour
    windowSize: 'PT1H'
    evaluationFrequency: 'PT15M'
    periods: 1
  }
  {
    name: 'facetrain-stuck-training'
    displayName: 'facetrain: a training is taking too long'
    description: 'A poll found a training still running longer after its submission than the threshold.'
    severity: 2
    query: 'customMetrics | where name == "facetrain.training.elapsed" | summarize longestSeconds = max(valueMax)'
    timeAggregation: 'Maximum'
    measure: 'longestSeconds'
    operator: 'GreaterThan'
    threshold: stuckTrainingMinutes * 60
    windowSize: 'PT15M'
    evaluationFrequency: 'PT5M'
    periods: 1
  }
  {
    name: 'facetrain-face-throttling'
    displayName: 'facetrain: Face is throttling'
    description: 'Face answered 429 to the orchestrator, window after window: the resource is short of calls for the uploads and the polls.'
    severity: 3
    query: 'customMetrics | where name == "facetrain.face.calls" | where tostring(customDimensions["http.response.status_code"]) == "429" | summarize throttled = sum(value)'
    timeAggregation: 'Total'
    measure: 'throttled'
    operator: 'GreaterThanOrEqual'
    threshold: throttledCallsPer5Minutes
    windowSize: 'PT5M'
    evaluationFrequency: 'PT5M'
    periods: 3
  }
  {
    name: 'facetrain-function-failures'
    displayName: 'facetrain: function invocations failing'
    description: 'Invocations of the queue, timer or status function failed (the host retries queue messages, then poisons them).'
    severity: 1
    query: 'requests | where success == false | summarize failures = count()'
    timeAggregation: 'Total'
    measure: 'failures'
    operator: 'GreaterThanOrEqual'
    threshold: functionFailuresPer15Minutes
    windowSize: 'PT15M'
    evaluationFrequency: 'PT5M'
    periods: 1
  }
]

resource alertRules 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = [for rule in rules: {
  name: rule.name
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: rule.displayName
    description: rule.description
    severity: rule.severity
    enabled: true
    scopes: [
      applicationInsightsId
    ]
    evaluationFrequency: rule.evaluationFrequency
    windowSize: rule.windowSize
    criteria: {
      allOf: [
        {
          query: rule.query
          timeAggregation: rule.timeAggregation
          metricMeasureColumn: rule.measure
          operator: rule.operator
          threshold: rule.threshold
          failingPeriods: {
            numberOfEvaluationPeriods: rule.periods
            minFailingPeriodsToAlert: rule.periods
          }
        }
      ]
    }
    autoMitigate: true
    actions: {
      actionGroups: [
        actionGroup.id
      ]
    }
  }
}]

output actionGroupId string = actionGroup.id
output ruleNames array = [for rule in rules: rule.name]
