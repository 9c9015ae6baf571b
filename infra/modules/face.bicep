// A new Azure AI Face resource, for users who do not bring one. Entra ID only: a managed-identity token is
// accepted only on a custom subdomain endpoint, and keys are disabled so none can leak.

param name string
param location string
param tags object
@allowed(['F0', 'S0'])
param skuName string
@description('A private deployment: no public network access; the app comes through a private endpoint.')
param vnetEnabled bool

resource face 'Microsoft.CognitiveServices/accounts@2024-10-01' = {
  // checkov:skip=CKV_AZURE_134: without a VNet: a Flex Consumption app outside a network calls Face over its public endpoint; every call needs an Entra ID token (local auth is off)
  name: name
  location: location
  tags: tags
  kind: 'Face'
  sku: {
    name: skuName
  }
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    customSubDomainName: name
    disableLocalAuth: true
    publicNetworkAccess: vnetEnabled ? 'Disabled' : 'Enabled'
    networkAcls: {
      defaultAction: vnetEnabled ? 'Deny' : 'Allow'
    }
  }
}

output name string = face.name
