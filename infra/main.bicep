// facetrain on Azure: a Flex Consumption function app that keeps Large Face Lists, Large Person Groups and Person
// Groups trained, with identity-only storage, role assignments for one user-assigned identity, telemetry with
// Entra ID auth, and either a new Face resource or an existing one. Deploy with `azd up` (docs/deploy.md); plain
// resources and local modules only, so that the offline checks in tests/test_infra.py see everything deployed.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('The azd environment name: the resource group is rg-<name>, and every other name derives from it.')
param environmentName string

@minLength(1)
@metadata({ azd: { type: 'location' } })
@description('Region for every new resource. It must offer Flex Consumption: az functionapp list-flexconsumption-locations.')
param location string

@description('Who runs the deployment (azd sets AZURE_PRINCIPAL_ID); gets queue and table access for the facetrain CLI. Empty: nobody.')
param principalId string = ''

@allowed(['User', 'ServicePrincipal', 'Group'])
param principalType string = 'User'

@description('An existing Face resource to train, by name. Empty: create a new one (kind Face, Entra ID only).')
param existingFaceName string = ''

@description('The resource group of existingFaceName, in this subscription. Empty: the app\'s own resource group.')
param existingFaceResourceGroupName string = ''

@allowed(['F0', 'S0'])
@description('Tier of a new Face resource. F0 allows 20 calls a minute, which the orchestrator honours through Retry-After.')
param faceSkuName string = 'S0'

// A private deployment (docs/deploy.md, "A private deployment"): off, the deployment is the public one.
@description('Put the app in a virtual network, and storage and Face behind private endpoints with public network access off.')
param vnetEnabled bool = false

// Address ranges of a private deployment, away from 10.0.0.0/16, 172.16.0.0/16 and 192.168.0.0/16, which hubs,
// VPNs and home networks use most; change them before peering if they collide with yours.
@description('The virtual network\'s address space (vnetEnabled).')
param vnetAddressPrefix string = '10.248.0.0/22'

@description('The subnet delegated to Flex Consumption for the app\'s outbound traffic: one address per instance, so /24 for up to 100.')
param appSubnetPrefix string = '10.248.0.0/24'

@description('The subnet of the private endpoints: four addresses are used.')
param privateEndpointSubnetPrefix string = '10.248.1.0/26'

// The orchestrator's settings: same names and defaults as orchestrator/settings.py and docs/settings.md
// (tests/test_infra.py compares them).
@allowed(['v1.0', 'v1.1-preview.1', 'v1.2-preview.1', 'v1.2'])
param faceApiVersion string = 'v1.2'
param trainingRequestsQueue string = 'training-requests'
param trainingEventsQueue string = 'training-events'
param trainingsTable string = 'trainings'
param pollSchedule string = '*/5 * * * * *'
param settleSeconds string = '0'
param maxTrainingMinutes string = '60'
param authRetryMinutes string = '10'
param maxRetryWaitSeconds string = '120'
param faceCallsPerSecond string = '2'
param faceConnectTimeoutSeconds string = '5'
param faceReadTimeoutSeconds string = '30'

@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 100

@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

// Alerts (modules/alerts.bicep; docs/operations.md, "Alerts"), which lists each threshold's default.
@description('Who is e-mailed when an alert fires. Empty: the action group has no receiver.')
param alertEmail string = ''

@minValue(0)
@description('Alert when the requests\' poison queue holds more messages than this.')
param poisonedMessagesThreshold int = 0

@minValue(1)
@description('Alert when an hour holds at least this many failed or timed-out trainings.')
param failedTrainingsPerHour int = 3

@minValue(1)
@description('Alert when a training is still running this many minutes after its submission.')
param stuckTrainingMinutes int = 45

@minValue(1)
@description('Alert when three 5-minute windows in a row each hold at least this many Face 429s.')
param throttledCallsPer5Minutes int = 10

@minValue(1)
@description('Alert when 15 minutes hold at least this many failed function invocations.')
param functionFailuresPer15Minutes int = 1

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }
var deploymentContainerName = 'deployment-package'
var createFace = empty(existingFaceName)
var faceName = createFace ? 'face-${resourceToken}' : existingFaceName
var faceResourceGroupName = (createFace || empty(existingFaceResourceGroupName)) ? 'rg-${environmentName}' : existingFaceResourceGroupName
var vnetName = 'vnet-${resourceToken}'
// Every data-plane endpoint the app calls, each reached through its own private endpoint in a private deployment.
var privateEndpoints = [
  {
    groupId: 'blob'
    zoneName: 'privatelink.blob.${environment().suffixes.storage}'
    onStorage: true
  }
  {
    groupId: 'queue'
    zoneName: 'privatelink.queue.${environment().suffixes.storage}'
    onStorage: true
  }
  {
    groupId: 'table'
    zoneName: 'privatelink.table.${environment().suffixes.storage}'
    onStorage: true
  }
  {
    groupId: 'account'
    zoneName: 'privatelink.cognitiveservices.azure.com'
    onStorage: false
  }
]

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: 'rg-${environmentName}'
  location: location
  tags: tags
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: 'id-${resourceToken}'
    location: location
    tags: tags
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: 'st${resourceToken}'
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
    trainingRequestsQueue: trainingRequestsQueue
    trainingEventsQueue: trainingEventsQueue
    trainingsTable: trainingsTable
    appPrincipalId: identity.outputs.principalId
    deployerPrincipalId: principalId
    deployerPrincipalType: principalType
    vnetEnabled: vnetEnabled
  }
}

module network 'modules/network.bicep' = if (vnetEnabled) {
  name: 'network'
  scope: rg
  params: {
    name: vnetName
    location: location
    tags: tags
    addressPrefix: vnetAddressPrefix
    appSubnetPrefix: appSubnetPrefix
    privateEndpointSubnetPrefix: privateEndpointSubnetPrefix
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: 'log-${resourceToken}'
    applicationInsightsName: 'appi-${resourceToken}'
    location: location
    tags: tags
    appPrincipalId: identity.outputs.principalId
  }
}

module face 'modules/face.bicep' = if (createFace) {
  name: 'face'
  scope: rg
  params: {
    name: faceName
    location: location
    tags: tags
    skuName: faceSkuName
    vnetEnabled: vnetEnabled
  }
}

module faceAccess 'modules/face-access.bicep' = {
  name: 'face-access'
  scope: resourceGroup(faceResourceGroupName)
  dependsOn: [
    rg
    face
  ]
  params: {
    faceName: faceName
    appPrincipalId: identity.outputs.principalId
  }
}

// In the app's resource group even for an existing Face resource elsewhere: the endpoint is the app's, the
// resource it reaches is the user's (docs/deploy.md says what the owner of an existing one must do).
module privateEndpoint 'modules/private-endpoint.bicep' = [for endpoint in privateEndpoints: if (vnetEnabled) {
  name: 'private-endpoint-${endpoint.groupId}'
  scope: rg
  params: {
    name: 'pe-${endpoint.groupId}-${resourceToken}'
    location: location
    tags: tags
    serviceId: (endpoint.onStorage) ? storage.outputs.id : faceAccess.outputs.id
    groupId: endpoint.groupId
    zoneName: endpoint.zoneName
    subnetId: network.outputs.privateEndpointSubnetId
    virtualNetworkId: network.outputs.id
  }
}]

module alerts 'modules/alerts.bicep' = {
  name: 'alerts'
  scope: rg
  params: {
    location: location
    tags: tags
    applicationInsightsId: monitoring.outputs.id
    alertEmail: alertEmail
    poisonedMessagesThreshold: poisonedMessagesThreshold
    failedTrainingsPerHour: failedTrainingsPerHour
    stuckTrainingMinutes: stuckTrainingMinutes
    throttledCallsPer5Minutes: throttledCallsPer5Minutes
    functionFailuresPer15Minutes: functionFailuresPer15Minutes
  }
}

module workbook 'modules/workbook.bicep' = {
  name: 'workbook'
  scope: rg
  params: {
    location: location
    tags: tags
    applicationInsightsId: monitoring.outputs.id
  }
}

var orchestratorSettings = {
  FACE_ENDPOINT: faceAccess.outputs.endpoint
  FACE_API_VERSION: faceApiVersion
  // The user-assigned identity for Face (DefaultAzureCredential reads AZURE_CLIENT_ID); no key exists.
  AZURE_CLIENT_ID: identity.outputs.clientId
  TRAINING_REQUESTS_QUEUE: trainingRequestsQueue
  TRAINING_EVENTS_QUEUE: trainingEventsQueue
  TRAININGS_TABLE: trainingsTable
  POLL_SCHEDULE: pollSchedule
  SETTLE_SECONDS: settleSeconds
  MAX_TRAINING_MINUTES: maxTrainingMinutes
  AUTH_RETRY_MINUTES: authRetryMinutes
  MAX_RETRY_WAIT_SECONDS: maxRetryWaitSeconds
  FACE_CALLS_PER_SECOND: faceCallsPerSecond
  FACE_CONNECT_TIMEOUT_SECONDS: faceConnectTimeoutSeconds
  FACE_READ_TIMEOUT_SECONDS: faceReadTimeoutSeconds
}

module app 'modules/functionapp.bicep' = {
  name: 'functionapp'
  scope: rg
  // The app starts polling at once: its roles must exist first, or the first ticks fail on 403; in a private
  // deployment, so must the endpoints and their names, or they fail on a refused connection.
  dependsOn: [
    storage
    monitoring
    faceAccess
    privateEndpoint
  ]
  params: {
    planName: 'plan-${resourceToken}'
    appName: 'func-${resourceToken}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageBlobEndpoint: storage.outputs.blobEndpoint
    storageQueueEndpoint: storage.outputs.queueEndpoint
    storageTableEndpoint: storage.outputs.tableEndpoint
    deploymentContainerName: deploymentContainerName
    applicationInsightsConnectionString: monitoring.outputs.connectionString
    orchestratorSettings: orchestratorSettings
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    vnetEnabled: vnetEnabled
    appSubnetId: vnetEnabled ? network.outputs.appSubnetId : ''
  }
}

// azd writes these into .azure/<env>/.env: `azd env get-values` gives the facetrain CLI what it needs.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = app.outputs.name
output SERVICE_API_NAME string = app.outputs.name
output SERVICE_API_URI string = 'https://${app.outputs.defaultHostName}'
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AzureWebJobsStorage__queueServiceUri string = storage.outputs.queueEndpoint
output AzureWebJobsStorage__tableServiceUri string = storage.outputs.tableEndpoint
output TRAINING_REQUESTS_QUEUE string = trainingRequestsQueue
output TRAINING_EVENTS_QUEUE string = trainingEventsQueue
output TRAININGS_TABLE string = trainingsTable
output FACE_ENDPOINT string = faceAccess.outputs.endpoint
output FACE_API_VERSION string = faceApiVersion
output APPLICATIONINSIGHTS_NAME string = monitoring.outputs.name
output AZURE_ACTION_GROUP_ID string = alerts.outputs.actionGroupId
output AZURE_WORKBOOK_ID string = workbook.outputs.id
output AZURE_VIRTUAL_NETWORK_NAME string = vnetEnabled ? vnetName : ''
