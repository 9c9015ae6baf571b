// The one identity the function app uses for everything: host storage, the deployment package, queues, the
// table, Face and telemetry. User-assigned, so that its roles exist before the app first starts.

param name string
param location string
param tags object

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId
