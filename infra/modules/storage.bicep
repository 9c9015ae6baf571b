// Storage for the Functions host (leases, keys, the deployment package) and for the orchestrator (queues and
// the trainings table). Identity-only: shared keys are off, so no connection string with a key exists anywhere.

param name string
param location string
param tags object
param deploymentContainerName string
param trainingRequestsQueue string
param trainingEventsQueue string
param trainingsTable string
@description('The function app identity: the data roles it needs on this account.')
param appPrincipalId string
@description('Whoever runs the deployment (empty for none): enough to enqueue requests and read status with the CLI.')
param deployerPrincipalId string
@allowed(['User', 'ServicePrincipal', 'Group'])
param deployerPrincipalType string
@description('A private deployment: no public network access; the app and the deployer come through private endpoints.')
param vnetEnabled bool

// Built-in role definition ids (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles).
var appRoles = [
  {
    // The host's leases, timers and keys live in blobs, and Flex Consumption reads the package from a container.
    role: 'Storage Blob Data Owner'
    id: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  }
  {
    // The queue trigger receives and deletes; the orchestrator sends events; the host moves poison messages.
    role: 'Storage Queue Data Contributor'
    id: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  }
  {
    // The training state, request and in-flight index entities.
    role: 'Storage Table Data Contributor'
    id: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  }
]
var deployerRoles = [
  {
    // `facetrain enqueue`, `events --follow` and `poison --redrive`.
    role: 'Storage Queue Data Contributor'
    id: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  }
  {
    // `facetrain status`.
    role: 'Storage Table Data Reader'
    id: '76199698-9eea-4c19-bc75-cec21354c6b6'
  }
]

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // checkov:skip=CKV_AZURE_35: without a VNet: the network default stays Allow, as a Flex Consumption app outside a network reaches storage over public endpoints, and every request needs an Entra ID role (shared keys are off)
  // checkov:skip=CKV_AZURE_59: without a VNet: public network access stays enabled for the same reason as CKV_AZURE_35; anonymous blob access is off (allowBlobPublicAccess: false)
  // checkov:skip=CKV_AZURE_206: LRS suffices: queues and the table hold work in progress that producers can resend, not records of value
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    dnsEndpointType: 'Standard'
    // Each mode-dependent value is one `vnetEnabled ? <private> : <public>` literal, so that the offline checks
    // can render each mode for checkov (tests/bicep_modes.py).
    publicNetworkAccess: vnetEnabled ? 'Disabled' : 'Enabled'
    networkAcls: {
      defaultAction: vnetEnabled ? 'Deny' : 'Allow'
      bypass: 'AzureServices'
    }
  }
}

// Children as top-level resources with `parent`: the offline parsers (pycep, so checkov too) keep only the last of
// several nested children, and what they cannot see they cannot check.
resource blobs 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobs
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource queues 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource requestsQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queues
  name: trainingRequestsQueue
}

resource eventsQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queues
  name: trainingEventsQueue
}

// The host creates it on first use too; creating it here lets `facetrain poison` and alerts work from day one.
resource poisonQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queues
  name: '${trainingRequestsQueue}-poison'
}

resource tables 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource trainingsTableResource 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = {
  parent: tables
  name: trainingsTable
}

resource appRoleAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for assignment in appRoles: {
  name: guid(storage.id, appPrincipalId, assignment.id)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', assignment.id)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    description: '${assignment.role} for the facetrain function app'
  }
}]

resource deployerRoleAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for assignment in deployerRoles: if (!empty(deployerPrincipalId)) {
  name: guid(storage.id, deployerPrincipalId, assignment.id)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', assignment.id)
    principalId: deployerPrincipalId
    principalType: deployerPrincipalType
    description: '${assignment.role} for the deployer, to use the facetrain CLI'
  }
}]

output id string = storage.id
output name string = storage.name
output blobEndpoint string = storage.properties.primaryEndpoints.blob
output queueEndpoint string = storage.properties.primaryEndpoints.queue
output tableEndpoint string = storage.properties.primaryEndpoints.table
