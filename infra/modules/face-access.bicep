// The Face resource the app trains, new or existing, possibly in another resource group: grants the app
// identity its data-plane role there and reads the endpoint back for FACE_ENDPOINT.

param faceName string
param appPrincipalId string

// Cognitive Services User: train and training status (and list management). The narrower Cognitive Services
// Face Recognizer role covers detect, verify, identify, group and find similar only, not training.
var cognitiveServicesUser = 'a97b65f3-24c7-4388-baec-2e87135dc908'

resource face 'Microsoft.CognitiveServices/accounts@2024-10-01' existing = {
  name: faceName
}

resource faceUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(face.id, appPrincipalId, cognitiveServicesUser)
  scope: face
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', cognitiveServicesUser)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    description: 'Cognitive Services User for the facetrain function app (train Large Face Lists, Large Person Groups and Person Groups)'
  }
}

output endpoint string = face.properties.endpoint
output id string = face.id
