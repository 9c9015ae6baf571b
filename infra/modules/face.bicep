// A new Azure AI Face resource, for users who do not bring one. Entra ID only: a managed-identity token is
// accepted only on a custom subdomain endpoint, and keys are disabled so none can leak.

param name string
param location string
param tags object
@allowed(['F0', 'S0'])
param skuName string

resource face 'Microsoft.CognitiveServices/accounts@2024-10-01' = {
  // checkov:skip=CKV_AZURE_134: a Flex Consumption app without a VNet calls Face over its public endpoint; every call needs an Entra ID token (local auth is off)
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
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
    }
  }
}

output name string = face.name
