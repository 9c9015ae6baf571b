// The function app on Flex Consumption: Python 3.13, the package in its own blob container, and one
// user-assigned identity for the package, host storage, the orchestrator's queues and table, Face and telemetry.

param planName string
param appName string
param location string
param tags object
param identityId string
param identityClientId string
param storageBlobEndpoint string
param storageQueueEndpoint string
param storageTableEndpoint string
param deploymentContainerName string
param applicationInsightsConnectionString string
@description('The orchestrator\'s own settings (orchestrator/settings.py), set by main.bicep.')
param orchestratorSettings object
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int
@allowed([512, 2048, 4096])
param instanceMemoryMB int
@description('A private deployment: the app\'s outbound traffic goes through appSubnetId.')
param vnetEnabled bool
@description('The subnet delegated to Flex Consumption (vnetEnabled).')
param appSubnetId string

// Identity-based host storage (https://learn.microsoft.com/azure/azure-functions/functions-reference#connecting-to-host-storage-with-an-identity):
// the host, the queue trigger (connection "AzureWebJobsStorage") and the orchestrator's own clients all use them.
var hostSettings = {
  AzureWebJobsStorage__blobServiceUri: storageBlobEndpoint
  AzureWebJobsStorage__queueServiceUri: storageQueueEndpoint
  AzureWebJobsStorage__tableServiceUri: storageTableEndpoint
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
  // The host's own telemetry authenticates as the app identity (the component has local auth off).
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  // checkov:skip=CKV_AZURE_225: Flex zone redundancy exists in a few regions only, and the template must deploy anywhere Flex does; queued requests survive a zone outage in storage
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource app 'Microsoft.Web/sites@2024-04-01' = {
  // checkov:skip=CKV_AZURE_17: the only HTTP route (training status) is read-only and needs a function key; client certificates would add nothing
  // checkov:skip=CKV_AZURE_212: Flex Consumption scales from zero; a queue and a timer need no minimum instance count
  // checkov:skip=CKV_AZURE_213: the platform replaces unhealthy Flex instances itself, and a health-check path would be one more public route
  // checkov:skip=CKV_AZURE_222: in both modes the app's inbound stays public: the status route and azd's deployment (OneDeploy on the app's SCM site) are called from outside the network, and need a function key or an Entra ID token
  name: appName
  location: location
  // azd finds the app to deploy `services.api` to by this tag.
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // Null leaves a property out: without a network, the app is exactly the public deployment's.
    virtualNetworkSubnetId: vnetEnabled ? appSubnetId : null
    // All outbound traffic through the network, so that the private DNS zones answer the app's every lookup.
    vnetRouteAllEnabled: vnetEnabled ? true : null
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storageBlobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'python'
        version: '3.13'
      }
    }
  }
}

resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  // checkov:skip=CKV_AZURE_13: not a web config: the `appsettings` list, which checkov's Bicep runner reads as if it were the site's web config
  // checkov:skip=CKV_AZURE_63: not a web config: the `appsettings` list, which checkov's Bicep runner reads as if it were the site's web config
  // checkov:skip=CKV_AZURE_65: not a web config: the `appsettings` list, which checkov's Bicep runner reads as if it were the site's web config
  // checkov:skip=CKV_AZURE_66: not a web config: the `appsettings` list, which checkov's Bicep runner reads as if it were the site's web config
  // checkov:skip=CKV_AZURE_80: not a web config: the `appsettings` list, which checkov's Bicep runner reads as if it were the site's web config
  // checkov:skip=CKV_AZURE_88: not a web config: the `appsettings` list, which checkov's Bicep runner reads as if it were the site's web config
  // checkov:skip=CKV_AZURE_222: not a web config: the `appsettings` list, which checkov's Bicep runner reads as if it were the site's web config
  parent: app
  name: 'appsettings'
  properties: union(hostSettings, orchestratorSettings)
}

output name string = app.name
output defaultHostName string = app.properties.defaultHostName
